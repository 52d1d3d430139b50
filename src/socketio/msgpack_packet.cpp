#include "socketio/msgpack_packet.hpp"

#include "codec/json_depth.hpp"
#include "codec/raw_json.hpp"

namespace herald::socketio {
namespace {

// notepack.io writes `undefined` as fixext 1 of type 0 holding one zero byte, and an ArrayBuffer
// (what browsers send) as ext of type 0; nlohmann reads both as binary with subtype 0, so a
// one-byte zero buffer of that subtype is taken for undefined (null, as JSON.stringify makes it).
bool is_undefined(const Json& value) {
  if (!value.is_binary()) return false;
  const auto& bytes = value.get_binary();
  return bytes.has_subtype() && bytes.subtype() == 0 && bytes.size() == 1 && bytes[0] == 0;
}

void normalize(Json& value) {
  if (is_undefined(value)) {
    value = nullptr;
  } else if (value.is_binary()) {
    auto& bytes = value.get_binary();
    if (bytes.has_subtype() && bytes.subtype() == 0) bytes.clear_subtype();
  } else if (value.is_array() || value.is_object()) {
    for (auto& item : value) normalize(item);
  }
}

PacketType wire_type(PacketType type) {
  if (type == PacketType::BinaryEvent) return PacketType::Event;
  if (type == PacketType::BinaryAck) return PacketType::Ack;
  return type;
}

Json packet_map(const Packet& packet) {
  Json map = Json::object();
  map["type"] = static_cast<int>(wire_type(packet.type));
  map["nsp"] = packet.nsp;
  // msgpack has no JSON text: a pushed message's raw text becomes the value it holds.
  if (!packet.data.is_null()) map["data"] = codec::expanded(packet.data);
  if (packet.id) map["id"] = *packet.id;
  return map;
}

std::optional<Packet> fail(std::string& error, std::string why) {
  error = std::move(why);
  return std::nullopt;
}

// The packet a decoded map stands for, checked as socket.io-msgpack-parser's checkPacket does.
std::optional<Packet> from_map(Json& map, std::string& error) {
  if (!map.is_object()) return fail(error, "packet is not a map");
  auto type = map.find("type");
  if (type == map.end() || !type->is_number_integer()) return fail(error, "invalid packet type");
  auto number = type->get<int64_t>();
  if (number < 0 || number > static_cast<int64_t>(PacketType::BinaryAck)) return fail(error, "invalid packet type");
  Packet packet;
  packet.type = wire_type(static_cast<PacketType>(number));
  auto nsp = map.find("nsp");
  if (nsp == map.end() || !nsp->is_string()) return fail(error, "invalid namespace");
  packet.nsp = nsp->get<std::string>();
  if (packet.nsp.empty() || packet.nsp[0] != '/') return fail(error, "invalid namespace");
  if (auto id = map.find("id"); id != map.end() && !is_undefined(*id)) {
    if (!id->is_number_unsigned()) return fail(error, "invalid packet id");
    packet.id = id->get<uint64_t>();
  }
  if (auto data = map.find("data"); data != map.end()) {
    normalize(*data);
    packet.data = std::move(*data);
  }
  if (!is_payload_valid(packet.type, packet.data)) return fail(error, "invalid payload");
  return packet;
}

}  // namespace

std::string encode_msgpack(const Packet& packet) {
  std::string out;
  Json::to_msgpack(packet_map(packet), out);
  return out;
}

MsgpackMessage encode_msgpack_v2(const Packet& packet) {
  bool text = packet.type == PacketType::Connect || packet.type == PacketType::Disconnect ||
              packet.type == PacketType::ConnectError;
  if (!text) return MsgpackMessage{encode_msgpack(packet), false};
  Json map = packet_map(packet);
  if (packet.type == PacketType::ConnectError && !packet.data.is_string())
    map["data"] = packet.data.is_object() && packet.data.contains("message") && packet.data["message"].is_string()
                      ? packet.data["message"]
                      : Json(codec::to_json_text(packet.data));
  return MsgpackMessage{codec::to_json_text(map), true};
}

std::optional<Packet> decode_msgpack(std::string_view bytes, std::string& error) {
  if (!codec::msgpack_depth_within(bytes)) return fail(error, "payload nested too deeply");
  Json map = Json::from_msgpack(bytes, true, false);
  if (map.is_discarded()) return fail(error, "invalid msgpack");
  return from_map(map, error);
}

std::optional<Packet> decode_msgpack_v2_text(std::string_view text, std::string& error) {
  if (!codec::json_depth_within(text)) return fail(error, "payload nested too deeply");
  Json map = Json::parse(text, nullptr, false);
  if (map.is_discarded()) return fail(error, "invalid payload: not JSON");
  auto packet = from_map(map, error);
  if (packet && packet->type != PacketType::Connect && packet->type != PacketType::Disconnect &&
      packet->type != PacketType::ConnectError)
    return fail(error, "only connect, disconnect and error packets come as text");
  return packet;
}

}  // namespace herald::socketio
