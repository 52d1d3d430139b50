#include "engineio/packet.hpp"

#include "codec/base64.hpp"

namespace herald::engineio {
namespace {

using codec::base64_append;
using codec::base64_decode;

std::optional<PacketType> type_from_digit(char c) {
  if (c < '0' || c > '6') return std::nullopt;
  return static_cast<PacketType>(c - '0');
}

// Size of one packet inside a polling payload.
size_t payload_size(const OutPacket& packet) {
  return packet.binary ? 1 + (binary_data(packet).size() + 2) / 3 * 4 : packet.bytes->size();
}

}  // namespace

std::optional<Packet> decode_text_packet(std::string_view frame) {
  if (frame.empty()) return std::nullopt;
  auto type = type_from_digit(frame[0]);
  if (!type) return std::nullopt;
  return Packet{*type, false, std::string(frame.substr(1))};
}

std::optional<std::vector<Packet>> decode_payload(std::string_view body) {
  std::vector<Packet> packets;
  size_t start = 0;
  while (true) {
    size_t end = body.find(kRecordSeparator, start);
    std::string_view part = body.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part.empty()) return std::nullopt;
    if (part[0] == 'b') {
      auto bytes = base64_decode(part.substr(1));
      if (!bytes) return std::nullopt;
      packets.push_back(Packet{PacketType::Message, true, std::move(*bytes)});
    } else {
      auto packet = decode_text_packet(part);
      if (!packet) return std::nullopt;
      packets.push_back(std::move(*packet));
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return packets;
}

OutPacket make_text_packet(PacketType type, std::string_view data) {
  std::string bytes;
  bytes.reserve(1 + data.size());
  bytes += static_cast<char>('0' + static_cast<int>(type));
  bytes += data;
  return OutPacket{std::make_shared<const std::string>(std::move(bytes)), false};
}

OutPacket make_binary_packet(std::string bytes, Protocol protocol) {
  if (protocol == Protocol::V3) bytes.insert(bytes.begin(), static_cast<char>(PacketType::Message));
  return OutPacket{std::make_shared<const std::string>(std::move(bytes)), true, protocol == Protocol::V3};
}

std::string_view binary_data(const OutPacket& packet) {
  std::string_view bytes = *packet.bytes;
  return packet.type_byte && !bytes.empty() ? bytes.substr(1) : bytes;
}

size_t encode_payload(std::span<const OutPacket> packets, size_t max_bytes, std::string& out) {
  size_t taken = 0;
  size_t total = 0;
  for (const auto& packet : packets) {
    size_t size = payload_size(packet) + (taken ? 1 : 0);
    if (taken && total + size > max_bytes) break;
    total += size;
    ++taken;
  }
  out.reserve(out.size() + total);
  for (size_t i = 0; i < taken; ++i) {
    if (i) out += kRecordSeparator;
    if (packets[i].binary) {
      out += 'b';
      base64_append(out, binary_data(packets[i]));
    } else {
      out += *packets[i].bytes;
    }
  }
  return taken;
}

}  // namespace herald::engineio
