// libFuzzer target: the Socket.IO packet decoder (text packet, then binary attachments).
// Input: messages separated by NUL bytes; the first is fed as text, the following ones as binary.
// Invariants: the decoder never crashes; after Complete it refuses a stray attachment; a completed
// packet encodes into messages that decode to an equal packet.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "socketio/packet.hpp"

using namespace herald::socketio;

namespace {

std::vector<std::string_view> split(std::string_view input) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = input.find('\0', start);
    if (end == std::string_view::npos) {
      parts.push_back(input.substr(start));
      return parts;
    }
    parts.push_back(input.substr(start, end - start));
    start = end + 1;
  }
}

bool equal(const Packet& a, const Packet& b) {
  return a.type == b.type && a.nsp == b.nsp && a.id == b.id && a.data == b.data;
}

void check_round_trip(const Packet& packet) {
  EncodedPacket encoded = encode(packet);
  bool binary = packet.type == PacketType::BinaryEvent || packet.type == PacketType::BinaryAck;
  if (!binary && !encoded.attachments.empty()) __builtin_trap();
  if (has_binary(packet.data) != !encoded.attachments.empty()) __builtin_trap();

  // No attachment limit here: a placeholder used many times becomes that many attachments.
  Decoder decoder(std::numeric_limits<size_t>::max());
  Decoder::Status status = decoder.add_text(encoded.text);
  for (const auto& attachment : encoded.attachments) {
    if (status != Decoder::Status::NeedAttachment) __builtin_trap();
    status = decoder.add_binary(attachment);
  }
  if (status != Decoder::Status::Complete) __builtin_trap();
  Packet again = decoder.take();
  if (!equal(packet, again)) __builtin_trap();
  // And the re-encoding is stable.
  EncodedPacket twice = encode(again);
  if (twice.text != encoded.text || twice.attachments != encoded.attachments) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts = split(input);

  Decoder decoder(16);
  Decoder::Status status = decoder.add_text(parts[0]);
  size_t next = 1;
  while (status == Decoder::Status::NeedAttachment && next < parts.size()) {
    if (!decoder.awaiting_attachments()) __builtin_trap();
    status = decoder.add_binary(parts[next++]);
  }
  if (status == Decoder::Status::Error && decoder.error().empty()) __builtin_trap();
  if (status != Decoder::Status::NeedAttachment && decoder.awaiting_attachments()) __builtin_trap();
  if (status != Decoder::Status::Complete) return 0;

  Packet packet = decoder.take();
  if (packet.nsp.empty() || packet.nsp[0] != '/') __builtin_trap();
  if (packet.nsp.find(',') != std::string::npos) __builtin_trap();
  if ((packet.type == PacketType::Event || packet.type == PacketType::Ack) && has_binary(packet.data)) __builtin_trap();
  check_round_trip(packet);

  // Nothing is awaited any more: a further binary message is refused, text is accepted again.
  if (next < parts.size()) {
    if (decoder.add_binary(parts[next]) != Decoder::Status::Error) __builtin_trap();
    if (decoder.awaiting_attachments()) __builtin_trap();
  }
  return 0;
}
