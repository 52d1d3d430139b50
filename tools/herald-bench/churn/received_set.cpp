// Filing a client's received pushes by msgId number, one bit each.
#include "churn/received_set.hpp"

namespace herald::bench {

std::optional<uint64_t> push_sequence(std::string_view msg_id, std::string_view prefix) {
  if (msg_id.size() <= prefix.size() || msg_id.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = msg_id.substr(prefix.size());
  if (digits.size() > 18 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

bool ReceivedSet::insert(uint64_t sequence) {
  if (sequence >= kMaxPushes || contains(sequence)) return false;
  size_t word = static_cast<size_t>(sequence / 64);
  if (word >= bits_.size()) bits_.resize(word + 1, 0);
  bits_[word] |= uint64_t{1} << (sequence % 64);
  ++size_;
  if (sequence >= end_) end_ = sequence + 1;
  if (sequence < begin_) begin_ = sequence;
  return true;
}

bool ReceivedSet::contains(uint64_t sequence) const {
  size_t word = static_cast<size_t>(sequence / 64);
  return word < bits_.size() && (bits_[word] >> (sequence % 64)) & 1;
}

}  // namespace herald::bench
