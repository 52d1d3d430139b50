// WebSocket frames (RFC 6455 section 5) as a client sees them: the server's frames arrive
// unmasked and are parsed in place; the client's own frames go out masked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace herald::bench::ws {

enum class Opcode : uint8_t { Continuation = 0, Text = 1, Binary = 2, Close = 8, Ping = 9, Pong = 10 };

struct Frame {
  Opcode opcode = Opcode::Continuation;
  bool fin = false;
  std::string_view payload;  // points into the parsed bytes
  size_t size = 0;           // header and payload: how many bytes the frame took
};

enum class ParseResult : uint8_t {
  Complete,    // `frame` is set
  Incomplete,  // more bytes are needed; nothing is set
  Invalid,     // not a frame a server may send (masked, reserved bits or opcode, bad control frame)
  TooBig,      // the payload is longer than the limit
};

// Parses the frame at the start of `data`. Frames whose payload exceeds `max_payload` are refused
// as soon as their header is complete.
ParseResult parse_frame(std::string_view data, uint64_t max_payload, Frame& frame);

// Appends one complete (FIN) client frame, its payload masked with `mask`, to `out`.
void append_frame(std::string& out, Opcode opcode, std::string_view payload, uint32_t mask);

}  // namespace herald::bench::ws
