#include "socketio/packet.hpp"

#include <array>
#include <charconv>
#include <utility>

#include "codec/json_depth.hpp"
#include "codec/json_reader.hpp"
#include "codec/raw_json.hpp"

namespace herald::socketio {
namespace {

// Replaces binary values with placeholders, moving their bytes into `attachments`.
void deconstruct(Json& value, std::vector<std::string>& attachments) {
  if (codec::is_raw_json(value)) return;  // JSON text, written as it is
  if (value.is_binary()) {
    const auto& bytes = value.get_binary();
    attachments.emplace_back(bytes.begin(), bytes.end());
    value = Json{{"_placeholder", true}, {"num", attachments.size() - 1}};
  } else if (value.is_array() || value.is_object()) {
    for (auto& item : value) deconstruct(item, attachments);
  }
}

// Replaces placeholders with the binary values they stand for. False on a bad placeholder.
bool reconstruct(Json& value, const std::vector<std::string>& attachments) {
  if (value.is_object()) {
    auto marker = value.find("_placeholder");
    if (marker != value.end() && marker->is_boolean() && marker->get<bool>()) {
      auto num = value.find("num");
      if (num == value.end() || !num->is_number_integer()) return false;
      auto index = num->get<int64_t>();
      if (index < 0 || static_cast<size_t>(index) >= attachments.size()) return false;
      const auto& bytes = attachments[static_cast<size_t>(index)];
      value = Json::binary(std::vector<uint8_t>(bytes.begin(), bytes.end()));
      return true;
    }
  }
  if (value.is_array() || value.is_object()) {
    for (auto& item : value)
      if (!reconstruct(item, attachments)) return false;
  }
  return true;
}

bool is_binary_type(PacketType type) { return type == PacketType::BinaryEvent || type == PacketType::BinaryAck; }

}  // namespace

bool has_binary(const Json& value) {
  if (value.is_binary()) return !codec::is_raw_json(value);
  if (value.is_array() || value.is_object()) {
    for (const auto& item : value)
      if (has_binary(item)) return true;
  }
  return false;
}

bool is_reserved_event(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kReserved = {"connect",       "connect_error", "disconnect",
                                                                "disconnecting", "newListener",   "removeListener"};
  for (auto reserved : kReserved)
    if (name == reserved) return true;
  return false;
}

bool is_payload_valid(PacketType type, const Json& data) {
  switch (type) {
    case PacketType::Connect:
      return data.is_null() || data.is_object();
    case PacketType::Disconnect:
      return data.is_null();
    case PacketType::ConnectError:
      return data.is_object() || data.is_string();
    case PacketType::Event:
    case PacketType::BinaryEvent:
      return data.is_array() && !data.empty() &&
             (data[0].is_number() ||
              (data[0].is_string() && !is_reserved_event(data[0].get_ref<const std::string&>())));
    case PacketType::Ack:
    case PacketType::BinaryAck:
      return data.is_array();
  }
  return false;
}

EncodedPacket encode(const Packet& packet) {
  EncodedPacket out;
  PacketType type = packet.type;
  const Json* data = &packet.data;
  Json stripped;
  if (has_binary(packet.data)) {
    stripped = packet.data;
    deconstruct(stripped, out.attachments);
    data = &stripped;
    if (type == PacketType::Event) type = PacketType::BinaryEvent;
    if (type == PacketType::Ack) type = PacketType::BinaryAck;
  }
  std::string& text = out.text;
  text += static_cast<char>('0' + static_cast<int>(type));
  if (is_binary_type(type)) {
    text += std::to_string(out.attachments.size());
    text += '-';
  }
  if (packet.nsp != "/") {
    text += packet.nsp;
    text += ',';
  }
  if (packet.id) text += std::to_string(*packet.id);
  if (!data->is_null()) codec::write_json(*data, text);
  return out;
}

Decoder::Status Decoder::fail(std::string why) {
  error_ = std::move(why);
  expected_ = 0;
  attachments_.clear();
  return Status::Error;
}

Decoder::Status Decoder::add_text(std::string_view text) {
  if (expected_ > 0) return fail("text packet while awaiting binary attachments");
  packet_ = Packet{};
  if (text.empty()) return fail("empty packet");
  char first = text[0];
  if (first < '0' || first > '6') return fail("unknown packet type");
  packet_.type = static_cast<PacketType>(first - '0');
  size_t i = 1;

  size_t attachments = 0;
  if (is_binary_type(packet_.type)) {
    size_t dash = text.find('-', i);
    if (dash == std::string_view::npos || dash == i) return fail("illegal attachments");
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + dash, attachments);
    if (ec != std::errc() || end != text.data() + dash) return fail("illegal attachments");
    if (attachments > max_attachments_) return fail("too many attachments");
    i = dash + 1;
  }

  if (i < text.size() && text[i] == '/') {
    size_t comma = text.find(',', i);
    size_t end = comma == std::string_view::npos ? text.size() : comma;
    packet_.nsp.assign(text.substr(i, end - i));
    i = comma == std::string_view::npos ? text.size() : comma + 1;
  }

  if (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    uint64_t id = 0;
    auto [end, ec] = std::from_chars(text.data() + start, text.data() + i, id);
    if (ec != std::errc()) return fail("illegal ack id");
    packet_.id = id;
  }

  if (i < text.size()) {
    std::string_view json = text.substr(i);
    if (!codec::json_depth_within(json)) return fail("payload nested too deeply");
    // simdjson first (codec/json_reader.hpp says why); nlohmann decides what it refuses.
    if (auto read = codec::read_json(json))
      packet_.data = std::move(*read);
    else
      packet_.data = Json::parse(json, nullptr, false);
    if (packet_.data.is_discarded()) return fail("invalid payload: not JSON");
    // Null stands for an absent payload; a present one must be valid in itself (`1null`, `0null`).
    if (packet_.data.is_null()) return fail("invalid payload");
  }
  if (from_client_ && !is_payload_valid(packet_.type, packet_.data)) return fail("invalid payload");

  expected_ = attachments;
  if (expected_ > 0) return Status::NeedAttachment;
  if (is_binary_type(packet_.type)) return finish_binary();
  return Status::Complete;
}

Decoder::Status Decoder::add_binary(std::string_view bytes) {
  if (expected_ == 0) return fail("unexpected binary attachment");
  attachments_.emplace_back(bytes);
  if (attachments_.size() < expected_) return Status::NeedAttachment;
  return finish_binary();
}

Decoder::Status Decoder::finish_binary() {
  bool ok = reconstruct(packet_.data, attachments_);
  expected_ = 0;
  attachments_.clear();
  if (!ok) return fail("illegal attachments");
  return Status::Complete;
}

}  // namespace herald::socketio
