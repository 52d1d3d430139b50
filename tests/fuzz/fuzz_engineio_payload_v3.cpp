// libFuzzer target: Engine.IO v3 long-polling payload decoding (a POST body), in the form the
// first input byte picks (odd: binary, application/octet-stream; even: text).
// Invariants: every body gets packets or an error, never both; decoded packets re-encode, in
// either form, to a body that decodes to the same packets; with a size limit the encoder takes a
// non-empty prefix.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "engineio/payload_v3.hpp"
#include "engineio_packets_equal.hpp"

using namespace herald::engineio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bool binary_form = (data[0] & 1) != 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto decoded = decode_payload_v3(body, binary_form);
  if (!decoded.error.empty()) {
    if (!decoded.packets.empty()) __builtin_trap();
    return 0;
  }
  const auto& packets = decoded.packets;

  std::vector<OutPacket> out;
  out.reserve(packets.size());
  for (const auto& packet : packets) {
    if (packet.binary && packet.type != PacketType::Message) __builtin_trap();
    out.push_back(packet.binary ? make_binary_packet(packet.data, (data[0] & 2) ? Protocol::V3 : Protocol::V4)
                                : make_text_packet(packet.type, packet.data));
  }
  if (out.empty()) return 0;  // `0:` alone: nothing to encode

  for (bool binary_allowed : {false, true}) {
    std::string encoded;
    bool form = false;
    size_t taken = encode_payload_v3(out, std::numeric_limits<size_t>::max(), binary_allowed, encoded, form);
    if (taken != out.size()) __builtin_trap();
    auto again = decode_payload_v3(encoded, form);
    if (!again.error.empty() || !same_packets(packets, again.packets, packets.size())) __builtin_trap();

    // A size limit derived from the input: a non-empty prefix, and it decodes.
    size_t limit = data[0] % (size + 2);
    std::string limited;
    size_t some = encode_payload_v3(out, limit, binary_allowed, limited, form);
    if (some < 1 || some > out.size()) __builtin_trap();
    if (some > 1 && limited.size() > limit) __builtin_trap();
    auto prefix = decode_payload_v3(limited, form);
    if (!prefix.error.empty() || !same_packets(packets, prefix.packets, some)) __builtin_trap();
  }
  return 0;
}
