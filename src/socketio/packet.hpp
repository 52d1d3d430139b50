// Socket.IO v5 packets: `<type>[<attachments>-][<nsp>,][<ackId>][JSON]`, binary attachments
// carried as placeholders plus separate binary messages. Pure functions and a small stateful
// decoder that gathers attachments.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/json.hpp"

namespace herald::socketio {

using Json = herald::Json;

enum class PacketType : uint8_t {
  Connect = 0,
  Disconnect = 1,
  Event = 2,
  Ack = 3,
  ConnectError = 4,
  BinaryEvent = 5,
  BinaryAck = 6,
};

struct Packet {
  PacketType type = PacketType::Event;
  std::string nsp = "/";
  std::optional<uint64_t> id;
  // Absent payload is null. Binary buffers are Json::binary values anywhere inside.
  Json data;
};

struct EncodedPacket {
  std::string text;                      // the packet itself
  std::vector<std::string> attachments;  // one binary message each, in order
};

// Encodes a packet. Binary values become placeholders and turn Event/Ack into BinaryEvent/BinaryAck.
EncodedPacket encode(const Packet& packet);

// True if any binary value is inside `value`.
bool has_binary(const Json& value);

// Event names a client may not emit: they are the library's own.
bool is_reserved_event(std::string_view name);

// Whether `data` is a valid payload for a packet of `type` from a client (null: none).
bool is_payload_valid(PacketType type, const Json& data);

// Decodes the packets of one Engine.IO session: text packets, then for binary ones the attachments.
class Decoder {
 public:
  enum class Status { Complete, NeedAttachment, Error };

  // `from_client` false: packets the server made itself (event names are not checked).
  explicit Decoder(size_t max_attachments = 1024, bool from_client = true)
      : max_attachments_(max_attachments), from_client_(from_client) {}

  // Feeds a text message. On Complete, take() returns the packet.
  Status add_text(std::string_view text);
  // Feeds a binary message; valid only while an attachment is awaited.
  Status add_binary(std::string_view bytes);

  Packet take() { return std::move(packet_); }
  // Why the last call returned Error (for logs).
  const std::string& error() const { return error_; }
  bool awaiting_attachments() const { return expected_ > 0; }

 private:
  Status fail(std::string why);
  Status finish_binary();

  size_t max_attachments_;
  bool from_client_;
  Packet packet_;
  size_t expected_ = 0;
  std::vector<std::string> attachments_;
  std::string error_;
};

}  // namespace herald::socketio
