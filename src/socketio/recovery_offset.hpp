// Recovery offsets that every node of a cluster understands. A node logs every broadcast it sees
// under its origin's own numbering (the node that emitted it, and that node's count of its own
// broadcasts), so a client's offset names, per origin, the last broadcast it has:
// "<origin>~<seq>.<origin>~<seq>". A client that reconnects through a balancer to another node, or
// after its node died, is understood there: that node has the same broadcasts under the same stamps.
// Per-origin numbers arrive in order, since each origin publishes on one Redis connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::socketio {

// Where a broadcast comes from and its place among that origin's broadcasts.
struct Stamp {
  std::string origin;
  uint64_t seq = 0;
};

// An origin that ends in this mark numbers broadcasts that came without a stamp (from Node servers
// or emitters): only the node that logged them can place them.
inline constexpr char kLocalOnlyMark = '+';

// Whether `text` can name an origin (what a stamp from another node must be to be logged as one).
bool is_origin_id(std::string_view text);

class RecoveryOffset {
 public:
  // Nothing when `text` is not an offset of this form (socket.io takes the last string argument of
  // any event for its offset, so a client may send back text of an application's event).
  static std::optional<RecoveryOffset> parse(std::string_view text);
  // The seq of the last broadcast of `origin` the client has; nullopt when the offset does not
  // name that origin (it had none of its broadcasts in its log when the offset was given).
  std::optional<uint64_t> seq_of(std::string_view origin) const;
  const std::vector<Stamp>& stamps() const { return stamps_; }

 private:
  std::vector<Stamp> stamps_;
};

// Appends "<origin>~<seq>" to `text`, with the separator when `text` is not empty.
void append_offset_stamp(std::string& text, std::string_view origin, uint64_t seq);

}  // namespace herald::socketio
