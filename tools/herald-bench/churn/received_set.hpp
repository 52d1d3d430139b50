// Which of the run's pushes one client received: a bit per push, found from the msgId the tool
// gave it (prefix + sequence number), so a client costs a bit per push rather than a string.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace herald::bench {

// The sequence number of a msgId `prefix` + digits; nullopt for any other msgId.
std::optional<uint64_t> push_sequence(std::string_view msg_id, std::string_view prefix);

class ReceivedSet {
 public:
  // Most pushes one run may file (a 10-hour run at 100/s); larger numbers are refused.
  static constexpr uint64_t kMaxPushes = uint64_t{1} << 22;

  // Records push `sequence`; false when it was already there (a duplicate) or out of range.
  bool insert(uint64_t sequence);
  bool contains(uint64_t sequence) const;
  // How many distinct pushes were recorded.
  uint64_t size() const { return size_; }
  // The lowest sequence recorded, and one past the highest ([0, 0) when none).
  uint64_t begin() const { return size_ ? begin_ : 0; }
  uint64_t end() const { return end_; }

 private:
  std::vector<uint64_t> bits_;
  uint64_t size_ = 0;
  uint64_t begin_ = kMaxPushes;
  uint64_t end_ = 0;
};

}  // namespace herald::bench
