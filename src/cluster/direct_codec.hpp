// The frames of a direct link between two Herald nodes (cluster/direct_link.hpp): a push sent to
// the node that holds its users, and that node's answers (the sockets reached, the acks, the
// sockets that closed before acking). Pure: no I/O, unit tested on its own.
//
// Hand-written because the messages are few and fixed, travel only between Herald nodes of the same
// version, and must cost next to nothing per push: a length-prefixed binary record is encoded by
// appending to the link's buffer, with no intermediate document. The adapter protocol (JSON or
// msgpack documents through Redis) stays what Node servers speak.
//
// A frame: u32 body length (little endian), then the body: u8 type, u64 request id, the fields of
// the type. A string is a u32 length and its bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace herald::cluster::direct {

// Bodies above this are refused (the link closes): a push's message is bounded by the API's body
// limit well below it.
inline constexpr uint32_t kMaxFrame = 64u << 20;

// A push to the users' sockets on the receiving node: `data` is the Socket.IO event's JSON array
// ([event, args...]) as text, handed to the sockets as it is.
struct Push {
  uint64_t request = 0;
  uint32_t timeout_ms = 0;
  std::string nsp;
  std::vector<std::string> users;
  std::string data;
};

struct SocketRef {
  std::string id;
  std::string user;
  bool operator==(const SocketRef&) const = default;
};

// The sockets the push reached on that node (one report for all its loops), before any ack.
struct Reached {
  uint64_t request = 0;
  std::vector<SocketRef> sockets;
};

struct Ack {
  SocketRef socket;
  std::string reply;  // the client's first ack argument as JSON text ("null" when none)
  bool operator==(const Ack&) const = default;
};

// Acks that came during one loop turn.
struct Acks {
  uint64_t request = 0;
  std::vector<Ack> acks;
};

// A reached socket closed before acking.
struct Dropped {
  uint64_t request = 0;
  SocketRef socket;
};

using Frame = std::variant<Push, Reached, Acks, Dropped>;

// Appends the frame to `out`.
void encode(const Frame& frame, std::string& out);

enum class Decoded : uint8_t { Ok, NeedMore, Malformed };

// Decodes the first frame of `input` into `frame`; with Ok, `consumed` is its size in bytes.
// NeedMore: `input` holds only part of it. Malformed: the stream cannot go on.
Decoded decode(std::string_view input, Frame& frame, size_t& consumed);

}  // namespace herald::cluster::direct
