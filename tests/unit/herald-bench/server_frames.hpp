// Frames as a server writes them (unmasked, shortest length encoding), for the WebSocket tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace herald::bench::ws {

inline std::string server_frame(uint8_t first_byte, std::string_view payload) {
  std::string frame(1, static_cast<char>(first_byte));
  if (payload.size() < 126) {
    frame += static_cast<char>(payload.size());
  } else if (payload.size() <= 0xffff) {
    frame += static_cast<char>(126);
    frame += static_cast<char>(payload.size() >> 8);
    frame += static_cast<char>(payload.size() & 0xff);
  } else {
    frame += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8) frame += static_cast<char>((payload.size() >> shift) & 0xff);
  }
  frame += payload;
  return frame;
}

}  // namespace herald::bench::ws
