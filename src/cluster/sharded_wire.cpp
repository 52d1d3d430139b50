#include "cluster/sharded_wire.hpp"

#include <spdlog/spdlog.h>

#include "cluster/recovery_stream.hpp"
#include "cluster/wire_json.hpp"

namespace herald::cluster {

using socketio::Json;
using Type = ClusterMessageType;
using namespace wire_json;

namespace {

// As the Node adapter decides (looksLikeASocketId): such rooms have no channel of their own.
bool looks_like_socket_id(const std::string& room) { return room.size() == 20; }

}  // namespace

ShardedWire::ShardedWire(const std::string& prefix, const std::string& nsp, const std::string& uid)
    : nsp_(nsp), channel_(prefix + "#" + nsp + "#"), own_response_channel_(channel_ + uid + "#") {}

std::string ShardedWire::room_channel(const std::string& room) const {
  return looks_like_socket_id(room) ? std::string() : channel_ + room + "#";
}

Wire::Decoded ShardedWire::decode(std::string_view /*channel*/, std::string_view payload, Message& out) const {
  Json message = decode_payload(payload);
  if (message.is_discarded() || !message.is_object()) return Decoded::Malformed;
  auto type_field = message.find("type");
  if (type_field == message.end() || !type_field->is_number_integer()) return Decoded::Malformed;
  if (message.value("nsp", nsp_) != nsp_) return Decoded::Ignored;
  out.sender = id_field(message, "uid");
  Json data = message.value("data", Json::object());
  if (!data.is_object()) return Decoded::Malformed;
  std::string request_id = id_field(data, "requestId");
  const Json herald = data.value("herald", Json::object());
  switch (static_cast<Type>(type_field->get<int>())) {
    case Type::Broadcast: {
      Json packet_json = data.value("packet", Json());
      if (packet_json.is_object() && !packet_json.contains("nsp")) packet_json["nsp"] = nsp_;
      auto packet = packet_from_json(packet_json);
      if (!packet) {
        spdlog::debug("cluster: ignoring a broadcast packet Herald cannot send");
        return Decoded::Ignored;
      }
      if (auto raw = data.find("heraldRaw"); raw != data.end()) restore_raw_texts(*packet, *raw);
      Json opts = data.value("opts", Json::object());
      if (request_id.empty()) {
        // Herald's recovery stamp rides in data.herald.stamp: read as a classic message's fourth element.
        Json stamped = Json::array({nullptr, nullptr, nullptr, herald.value("stamp", Json())});
        out.body = msg::Broadcast{std::move(*packet), target_from_json(opts), {}, stamp_of(stamped)};
        return Decoded::Ok;
      }
      msg::BroadcastWithAck broadcast{request_id, std::move(*packet), target_from_json(opts)};
      if (opts.contains("flags") && opts["flags"].is_object())
        broadcast.timeout_ms = opts["flags"].value("timeout", int64_t{10000});
      broadcast.batch_acks = herald.is_object() && herald.value("batchAcks", false);
      out.body = std::move(broadcast);
      return Decoded::Ok;
    }
    case Type::SocketsJoin:
    case Type::SocketsLeave:
      out.body = msg::RoomChange{type_field->get<int>() == static_cast<int>(Type::SocketsJoin),
                                 target_from_json(data.value("opts", Json::object())),
                                 string_list(data.value("rooms", Json::array())),
                                 {}};
      return Decoded::Ok;
    case Type::DisconnectSockets:
      out.body = msg::Disconnect{target_from_json(data.value("opts", Json::object())), data.value("close", false), {}};
      return Decoded::Ok;
    case Type::FetchSockets:
      out.body = msg::FetchSockets{request_id, target_from_json(data.value("opts", Json::object())), false};
      return Decoded::Ok;
    case Type::FetchSocketsResponse:
      out.body = msg::SocketsFound{request_id, sockets_from_json(data.value("sockets", Json::array())), false};
      return Decoded::Ok;
    case Type::ServerSideEmit:
      out.body = msg::ServerSideEmit{data.value("packet", Json::array()), request_id};
      return Decoded::Ok;
    case Type::ServerSideEmitResponse:
      out.body = msg::ServerSideReply{request_id, data.value("packet", Json())};
      return Decoded::Ok;
    case Type::BroadcastClientCount: {
      out.body = client_count(request_id, data, herald);
      return Decoded::Ok;
    }
    case Type::BroadcastAck: {
      if (auto dropped = herald.find("dropped"); dropped != herald.end()) {
        out.body = msg::Dropped{request_id, socket_from_herald(*dropped)};
        return Decoded::Ok;
      }
      msg::Acks acks{request_id, {}, false};
      if (auto list = herald.find("acks"); list != herald.end() && list->is_array()) {
        acks.batch = true;
        for (const auto& ack : *list)
          if (ack.is_object()) acks.acks.emplace_back(socket_from_herald(ack), ack.value("packet", Json()));
      } else {
        acks.acks.emplace_back(socket_from_herald(herald), data.value("packet", Json()));
      }
      out.body = std::move(acks);
      return Decoded::Ok;
    }
    default:  // heartbeats and adapter closes: this adapter counts servers by their subscriptions
      return Decoded::Ignored;
  }
}

Outgoing ShardedWire::encode(const std::string& sender, const Body& body) const {
  auto message = [&](Type type, Json data, std::string channel) {
    return Outgoing{
        std::move(channel),
        to_msgpack({{"uid", sender}, {"nsp", nsp_}, {"type", static_cast<int>(type)}, {"data", std::move(data)}})};
  };
  return std::visit(
      Overloaded{
          [&](const msg::Broadcast& broadcast) {
            // A single room's broadcast goes to the servers that have sockets in it.
            std::string channel =
                broadcast.target.rooms.size() == 1 ? room_channel(broadcast.target.rooms.front()) : "";
            auto [packet, raw_texts] = packet_for_wire(broadcast.packet);
            Json data{{"packet", std::move(packet)}, {"opts", target_to_json(broadcast.target)}};
            if (broadcast.stamp)
              data["herald"] = {{"stamp", {{"o", broadcast.stamp->origin}, {"s", broadcast.stamp->seq}}}};
            // Next to the packet, where Node servers do not look: the packet's raw JSON texts.
            if (!raw_texts.is_null()) data["heraldRaw"] = std::move(raw_texts);
            return message(Type::Broadcast, std::move(data), channel.empty() ? channel_ : channel);
          },
          [&](const msg::BroadcastWithAck& broadcast) {
            Json opts = target_to_json(broadcast.target);
            opts["flags"]["timeout"] = broadcast.timeout_ms;
            auto [packet, raw_texts] = packet_for_wire(broadcast.packet);
            Json data{{"packet", std::move(packet)}, {"requestId", broadcast.request_id}, {"opts", std::move(opts)}};
            if (broadcast.batch_acks) data["herald"] = {{"batchAcks", true}};
            if (!raw_texts.is_null()) data["heraldRaw"] = std::move(raw_texts);
            return message(Type::Broadcast, std::move(data), channel_);
          },
          [&](const msg::RoomChange& change) {
            return message(change.join ? Type::SocketsJoin : Type::SocketsLeave,
                           {{"opts", target_to_json(change.target)}, {"rooms", change.rooms}}, channel_);
          },
          [&](const msg::Disconnect& disconnect) {
            return message(Type::DisconnectSockets,
                           {{"opts", target_to_json(disconnect.target)}, {"close", disconnect.close}}, channel_);
          },
          [&](const msg::FetchSockets& fetch) {
            return message(Type::FetchSockets,
                           {{"opts", target_to_json(fetch.target)}, {"requestId", fetch.request_id}}, channel_);
          },
          [&](const msg::ServerSideEmit& emit) {
            Json data{{"packet", emit.data}};
            if (!emit.request_id.empty()) data["requestId"] = emit.request_id;
            return message(Type::ServerSideEmit, std::move(data), channel_);
          },
          [&](const auto&) -> Outgoing { return {}; },  // answers go through encode_response
      },
      body);
}

Outgoing ShardedWire::encode_response(const std::string& sender, const std::string& requester, const Body& body) const {
  std::string channel = channel_ + requester + "#";
  auto response = [&](Type type, Json data) {
    return Outgoing{
        channel,
        to_msgpack({{"uid", sender}, {"nsp", nsp_}, {"type", static_cast<int>(type)}, {"data", std::move(data)}})};
  };
  return std::visit(
      Overloaded{
          [&](const msg::ClientCount& count) {
            return response(Type::BroadcastClientCount, {{"requestId", count.request_id},
                                                         {"clientCount", count.count},
                                                         {"herald", herald_count(count, sender)}});
          },
          [&](const msg::Acks& acks) {
            if (!acks.batch && acks.acks.size() == 1) {
              const auto& [socket, reply] = acks.acks.front();
              return response(Type::BroadcastAck,
                              {{"requestId", acks.request_id}, {"packet", reply}, {"herald", herald_socket(socket)}});
            }
            Json list = Json::array();
            for (const auto& [socket, reply] : acks.acks) {
              Json herald = herald_socket(socket);
              herald["packet"] = reply;
              list.push_back(std::move(herald));
            }
            return response(Type::BroadcastAck,
                            {{"requestId", acks.request_id}, {"herald", {{"acks", std::move(list)}}}});
          },
          [&](const msg::Dropped& dropped) {
            return response(Type::BroadcastAck, {{"requestId", dropped.request_id},
                                                 {"herald", {{"dropped", herald_socket(dropped.socket)}}}});
          },
          [&](const msg::SocketsFound& found) {
            return response(Type::FetchSocketsResponse,
                            {{"requestId", found.request_id}, {"sockets", sockets_to_json(found.sockets, false)}});
          },
          [&](const msg::ServerSideReply& reply) {
            return response(Type::ServerSideEmitResponse, {{"requestId", reply.request_id}, {"packet", reply.reply}});
          },
          [&](const auto&) -> Outgoing { return {}; },  // nothing else is answered in this protocol
      },
      body);
}

}  // namespace herald::cluster
