// libFuzzer target: the socket.io-msgpack-parser packet decoder (a binary message of a msgpack
// client; the same bytes also as a version 2 client's JSON text packet).
// Invariants: the decoders never crash; a decoded packet has a namespace path, a plain event or
// ack type and no undefined marker left; encoding it (msgpack, version 2, default parser) works,
// and the msgpack encoding decodes to a packet that encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "socketio/msgpack_packet.hpp"

using namespace herald::socketio;

namespace {

void check(const Packet& packet) {
  if (packet.nsp.empty() || packet.nsp[0] != '/') __builtin_trap();
  if (packet.type == PacketType::BinaryEvent || packet.type == PacketType::BinaryAck) __builtin_trap();
  std::string bytes = encode_msgpack(packet);
  std::string error;
  auto again = decode_msgpack(bytes, error);
  if (!again) __builtin_trap();
  if (again->type != packet.type || again->nsp != packet.nsp || again->id != packet.id) __builtin_trap();
  if (encode_msgpack(*again) != bytes) __builtin_trap();
  (void)encode_msgpack_v2(packet);
  (void)encode(packet);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string error;
  if (auto packet = decode_msgpack(input, error))
    check(*packet);
  else if (error.empty())
    __builtin_trap();
  error.clear();
  if (auto packet = decode_msgpack_v2_text(input, error))
    check(*packet);
  else if (error.empty())
    __builtin_trap();
  return 0;
}
