#include "cluster/wire_json.hpp"

#include "codec/json_depth.hpp"
#include "codec/raw_json.hpp"
#include "push/user_data.hpp"

namespace herald::cluster {

using socketio::Json;
using socketio::Packet;
using socketio::PacketType;
using socketio::SocketInfo;

std::optional<Packet> packet_from_json(const Json& json) {
  if (!json.is_object()) return std::nullopt;
  auto type = json.find("type");
  auto data = json.find("data");
  if (type == json.end() || !type->is_number_integer() || data == json.end() || !data->is_array() || data->empty())
    return std::nullopt;
  int kind = type->get<int>();
  if (kind != static_cast<int>(PacketType::Event) && kind != static_cast<int>(PacketType::BinaryEvent))
    return std::nullopt;
  Packet packet{PacketType::Event, json.value("nsp", "/"), std::nullopt, *data};
  if (auto id = json.find("id"); id != json.end() && id->is_number_unsigned()) packet.id = id->get<uint64_t>();
  return packet;
}

WirePacket packet_for_wire(const Packet& packet) {
  Json data = codec::expanded(packet.data);
  Json texts;
  if (packet.data.is_array())
    for (size_t i = 0; i < packet.data.size(); ++i) {
      if (!codec::is_raw_json(packet.data[i])) continue;
      std::string_view text = codec::raw_json_text(packet.data[i]);
      if (codec::to_json_text(data[i]) != text) texts.push_back(Json::array({i, std::string(text)}));
    }
  Json json{{"type", static_cast<int>(packet.type)}, {"data", std::move(data)}, {"nsp", packet.nsp}};
  if (packet.id) json["id"] = *packet.id;
  return {std::move(json), std::move(texts)};
}

void restore_raw_texts(Packet& packet, const Json& raw_texts) {
  if (!raw_texts.is_array() || !packet.data.is_array()) return;
  for (const auto& entry : raw_texts) {
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_number_unsigned() || !entry[1].is_string()) continue;
    auto index = entry[0].get<size_t>();
    if (index >= packet.data.size()) continue;
    if (auto raw = codec::raw_json(entry[1].get_ref<const std::string&>())) packet.data[index] = std::move(*raw);
  }
}

namespace wire_json {

Json decode_payload(std::string_view payload) {
  if (!payload.empty() && payload.front() == '{') {
    if (!codec::json_depth_within(payload)) return Json(Json::value_t::discarded);
    return Json::parse(payload, nullptr, false);
  }
  if (!codec::msgpack_depth_within(payload)) return Json(Json::value_t::discarded);
  return Json::from_msgpack(payload, true, false);
}

std::string to_msgpack(const Json& value) {
  std::string out;
  // msgpack has no JSON text: raw values go as the values they hold.
  if (codec::contains_raw_json(value))
    Json::to_msgpack(codec::expanded(value), out);
  else
    Json::to_msgpack(value, out);
  return out;
}

std::string to_text(const Json& value) { return codec::to_json_text(value); }

std::vector<std::string> string_list(const Json& value) {
  std::vector<std::string> items;
  if (!value.is_array()) return items;
  for (const auto& item : value) {
    if (item.is_string())
      items.push_back(item.get<std::string>());
    else if (item.is_number())
      items.push_back(item.dump());
  }
  return items;
}

std::string id_field(const Json& object, const char* key) {
  if (!object.is_object()) return {};
  auto found = object.find(key);
  if (found == object.end()) return {};
  if (found->is_string()) return found->get<std::string>();
  if (found->is_number()) return found->dump();
  return {};
}

Json target_to_json(const TargetSpec& target) {
  return Json{{"rooms", target.rooms},
              {"except", target.except},
              {"flags", target.flags.is_object() ? target.flags : Json::object()}};
}

TargetSpec target_from_json(const Json& opts) {
  TargetSpec target;
  if (!opts.is_object()) return target;
  if (auto rooms = opts.find("rooms"); rooms != opts.end()) target.rooms = string_list(*rooms);
  if (auto except = opts.find("except"); except != opts.end()) target.except = string_list(*except);
  if (auto flags = opts.find("flags"); flags != opts.end() && flags->is_object()) target.flags = *flags;
  return target;
}

Json sockets_to_json(const std::vector<SocketInfo>& sockets, bool ids_only) {
  Json list = Json::array();
  for (const auto& socket : sockets) {
    if (ids_only)
      list.push_back(socket.id);
    else
      list.push_back(
          Json{{"id", socket.id}, {"handshake", socket.handshake}, {"rooms", socket.rooms}, {"data", socket.data}});
  }
  return list;
}

std::vector<SocketInfo> sockets_from_json(const Json& sockets) {
  std::vector<SocketInfo> found;
  if (!sockets.is_array()) return found;
  for (const auto& item : sockets) {
    if (item.is_string()) {
      found.push_back(SocketInfo{item.get<std::string>(), nullptr, nullptr});
    } else if (item.is_object()) {
      Json data = item.value("data", Json());
      socketio::SocketDataPtr user;
      if (auto uid = data.is_object() ? data.find("uid") : data.end(); uid != data.end() && uid->is_string())
        user = push::UserData::make(uid->get_ref<const std::string&>(), 0);
      found.push_back(SocketInfo{item.value("id", ""), std::move(user), std::move(data),
                                 string_list(item.value("rooms", Json::array())), item.value("handshake", Json())});
    }
  }
  return found;
}

Json herald_socket(const SocketInfo& socket) {
  Json herald{{"socket", socket.id}};
  if (std::string_view uid = push::user_of(socket); !uid.empty()) herald["uid"] = uid;
  return herald;
}

SocketInfo socket_from_herald(const Json& herald) {
  SocketInfo info;
  if (!herald.is_object()) return info;
  info.id = herald.value("socket", "");
  if (auto uid = herald.find("uid"); uid != herald.end() && uid->is_string())
    info.attached = push::UserData::make(uid->get_ref<const std::string&>(), 0);
  return info;
}

msg::ClientCount client_count(std::string request_id, const Json& fields, const Json& herald) {
  msg::ClientCount count{std::move(request_id), fields.value("clientCount", size_t{0}), {}, {}};
  if (auto users = herald.find("users"); users != herald.end()) count.users = string_list(*users);
  if (auto node = herald.find("node"); node != herald.end() && node->is_string()) count.node = node->get<std::string>();
  return count;
}

Json herald_count(const msg::ClientCount& count, const std::string& node) {
  return {{"users", count.users}, {"node", node}};
}

}  // namespace wire_json
}  // namespace herald::cluster
