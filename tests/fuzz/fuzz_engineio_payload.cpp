// libFuzzer target: Engine.IO long-polling payload decoding (a POST body).
// Invariants: a decoded payload re-encodes and decodes to the same packets; with a size limit the
// encoder takes at least one packet, stays within the limit when it takes more, and takes a prefix.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "engineio/packet.hpp"
#include "engineio_packets_equal.hpp"

using namespace herald::engineio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto packets = decode_payload(body);
  if (!packets) return 0;
  if (packets->empty()) __builtin_trap();

  std::vector<OutPacket> out;
  out.reserve(packets->size());
  for (const auto& packet : *packets) {
    if (packet.binary && packet.type != PacketType::Message) __builtin_trap();
    if (!packet.binary && packet.data.find(kRecordSeparator) != std::string::npos) __builtin_trap();
    out.push_back(packet.binary ? make_binary_packet(packet.data) : make_text_packet(packet.type, packet.data));
  }

  std::string encoded;
  size_t taken = encode_payload(out, std::numeric_limits<size_t>::max(), encoded);
  if (taken != out.size()) __builtin_trap();
  auto again = decode_payload(encoded);
  if (!again || !same_packets(*packets, *again, packets->size())) __builtin_trap();
  // Every packet is canonical (strict base64), so the body itself round trips.
  if (encoded != body) __builtin_trap();

  // A size limit derived from the input: the encoder takes a non-empty prefix that fits.
  size_t limit = size > 0 ? data[0] % (size + 2) : 0;
  std::string limited;
  size_t some = encode_payload(out, limit, limited);
  if (some < 1 || some > out.size()) __builtin_trap();
  if (some > 1 && limited.size() > limit) __builtin_trap();
  if (some < out.size()) {
    std::string longer;
    encode_payload(std::span<const OutPacket>(out).first(some + 1), std::numeric_limits<size_t>::max(), longer);
    if (longer.size() <= limit) __builtin_trap();  // the next packet would have fitted
  }
  auto prefix = decode_payload(limited);
  if (!prefix || !same_packets(*packets, *prefix, some)) __builtin_trap();
  return 0;
}
