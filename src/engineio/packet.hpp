// Engine.IO packets: the type digit, text and binary messages, and the v4 long-polling payload
// (packets joined by the 0x1e record separator, binary ones as 'b' + base64). The v3 payload is in
// payload_v3.hpp. Pure functions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace herald::engineio {

enum class PacketType : uint8_t { Open = 0, Close = 1, Ping = 2, Pong = 3, Message = 4, Upgrade = 5, Noop = 6 };

// The Engine.IO protocol revision a session speaks (the EIO query parameter). v3 is
// socket.io-client 2.x's: the client pings, and binary packets carry their type as a first byte.
enum class Protocol : uint8_t { V3 = 3, V4 = 4 };

constexpr char kRecordSeparator = '\x1e';

// A packet received from a client. For text packets `data` is what follows the type digit;
// for binary packets (always messages) it is the raw bytes.
struct Packet {
  PacketType type = PacketType::Message;
  bool binary = false;
  std::string data;
};

// A packet ready to be written, shared by every recipient of a broadcast (encoded once).
// Text: the type digit followed by the data. Binary: the raw message bytes, or with `type_byte`
// the v3 form, the type (4) as a first byte then the bytes, as a v3 WebSocket frame carries them.
struct OutPacket {
  std::shared_ptr<const std::string> bytes;
  bool binary = false;
  bool type_byte = false;
};

// Decodes a WebSocket text frame: a type digit followed by data. nullopt if the type is unknown.
std::optional<Packet> decode_text_packet(std::string_view frame);

// Decodes a long-polling POST body. nullopt if any packet is malformed (unknown type, empty
// packet, bad base64): the whole body is refused, as the protocol closes the session.
std::optional<std::vector<Packet>> decode_payload(std::string_view body);

OutPacket make_text_packet(PacketType type, std::string_view data = {});
// A binary message in `protocol`'s form (v3: with its type byte); a session given the other form
// converts it, at the cost of a copy.
OutPacket make_binary_packet(std::string bytes, Protocol protocol = Protocol::V4);
// The message bytes of a binary packet, whichever its form.
std::string_view binary_data(const OutPacket& packet);

// Encodes packets for a long-polling GET response. Stops before the packet that would make the
// payload exceed `max_bytes` (always takes at least one); returns how many packets it took.
size_t encode_payload(std::span<const OutPacket> packets, size_t max_bytes, std::string& out);

}  // namespace herald::engineio
