// libFuzzer target: Engine.IO text packet decoding (one WebSocket text frame).
// Invariants: a frame decodes iff it starts with a type digit 0-6; the decoded packet re-encodes to the frame.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engineio/packet.hpp"

using namespace herald::engineio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  auto packet = decode_text_packet(frame);
  bool should_decode = !frame.empty() && frame[0] >= '0' && frame[0] <= '6';
  if (packet.has_value() != should_decode) __builtin_trap();
  if (!packet) return 0;
  if (packet->binary) __builtin_trap();
  if (static_cast<int>(packet->type) != frame[0] - '0') __builtin_trap();
  if (packet->data != frame.substr(1)) __builtin_trap();
  OutPacket out = make_text_packet(packet->type, packet->data);
  if (out.binary || *out.bytes != frame) __builtin_trap();
  return 0;
}
