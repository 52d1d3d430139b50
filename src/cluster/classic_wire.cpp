#include "cluster/classic_wire.hpp"

#include <spdlog/spdlog.h>

#include "cluster/recovery_stream.hpp"
#include "cluster/wire_json.hpp"

namespace herald::cluster {

using socketio::Json;
using namespace wire_json;

namespace {

int type_of(RequestType type) { return static_cast<int>(type); }

// Requests that name one socket (`sid`) instead of a target, as Node's remoteJoin sends them.
bool target_of_request(const Json& request, TargetSpec& target) {
  if (auto opts = request.find("opts"); opts != request.end()) {
    target = target_from_json(*opts);
    return true;
  }
  if (auto sid = request.find("sid"); sid != request.end() && sid->is_string()) {
    target = TargetSpec{{sid->get<std::string>()}, {}, Json::object()};  // a socket id is its own room
    return true;
  }
  return false;
}

// The request id a single socket's change is answered with (only those are answered).
std::string answered_id(const Json& request) {
  return request.contains("sid") ? id_field(request, "requestId") : std::string();
}

}  // namespace

ClassicWire::ClassicWire(const std::string& prefix, const std::string& nsp, const std::string& uid)
    : nsp_(nsp),
      channel_(prefix + "#" + nsp + "#"),
      request_channel_(prefix + "-request#" + nsp + "#"),
      response_channel_(prefix + "-response#" + nsp + "#"),
      own_response_channel_(response_channel_ + uid + "#") {}

std::vector<std::string> ClassicWire::channels() const {
  return {request_channel_, response_channel_, own_response_channel_};
}

bool ClassicWire::owns(std::string_view channel) const {
  return channel.starts_with(channel_) || channel.starts_with(request_channel_) ||
         channel.starts_with(response_channel_);
}

// ---- decoding ----

Wire::Decoded ClassicWire::decode(std::string_view channel, std::string_view payload, Message& out) const {
  if (channel.starts_with(channel_)) return decode_broadcast(payload, out);
  Json message = decode_payload(payload);
  if (message.is_discarded() || !message.is_object()) return Decoded::Malformed;
  if (channel.starts_with(response_channel_)) return decode_response(message, out);
  if (channel.starts_with(request_channel_)) return decode_request(message, out);
  return Decoded::Ignored;
}

Wire::Decoded ClassicWire::decode_broadcast(std::string_view payload, Message& out) const {
  Json message = decode_payload(payload);
  if (message.is_discarded() || !message.is_array() || message.size() < 3) return Decoded::Malformed;
  out.sender = message[0].is_string() ? message[0].get<std::string>() : std::string();
  Json& packet_json = message[1];
  if (packet_json.is_object() && !packet_json.contains("nsp")) packet_json["nsp"] = "/";
  if (!packet_json.is_object() || packet_json.value("nsp", "") != nsp_) return Decoded::Ignored;
  auto packet = packet_from_json(packet_json);
  if (!packet) {
    spdlog::debug("cluster: ignoring a broadcast packet Herald cannot send");
    return Decoded::Ignored;
  }
  // A fifth element, from Herald nodes only: the packet's raw JSON texts.
  if (message.size() >= 5) restore_raw_texts(*packet, message[4]);
  out.body = msg::Broadcast{std::move(*packet), target_from_json(message[2]), {}, stamp_of(message)};
  return Decoded::Ok;
}

Wire::Decoded ClassicWire::decode_request(Json& request, Message& out) const {
  auto type_field = request.find("type");
  if (type_field == request.end() || !type_field->is_number_integer()) return Decoded::Ignored;
  out.sender = id_field(request, "uid");
  std::string request_id = id_field(request, "requestId");
  switch (static_cast<RequestType>(type_field->get<int>())) {
    case RequestType::Sockets:
      out.body = msg::FetchSockets{
          request_id, TargetSpec{string_list(request.value("rooms", Json::array())), {}, Json::object()}, true};
      return Decoded::Ok;
    case RequestType::RemoteFetch:
      out.body = msg::FetchSockets{request_id, target_from_json(request.value("opts", Json::object())), false};
      return Decoded::Ok;
    case RequestType::AllRooms:
      out.body = msg::AllRooms{request_id};
      return Decoded::Ok;
    case RequestType::RemoteJoin:
    case RequestType::RemoteLeave: {
      msg::RoomChange change;
      change.join = type_field->get<int>() == type_of(RequestType::RemoteJoin);
      if (!target_of_request(request, change.target)) return Decoded::Ignored;
      change.rooms = string_list(request.value("rooms", Json::array()));
      if (auto room = request.find("room"); room != request.end() && room->is_string()) change.rooms.push_back(*room);
      change.request_id = answered_id(request);
      out.body = std::move(change);
      return Decoded::Ok;
    }
    case RequestType::RemoteDisconnect: {
      msg::Disconnect disconnect;
      if (!target_of_request(request, disconnect.target)) return Decoded::Ignored;
      disconnect.close = request.value("close", false);
      disconnect.request_id = answered_id(request);
      out.body = std::move(disconnect);
      return Decoded::Ok;
    }
    case RequestType::ServerSideEmit:
      out.body = msg::ServerSideEmit{request.value("data", Json::array()), request_id};
      return Decoded::Ok;
    case RequestType::Broadcast: {
      auto packet = packet_from_json(request.value("packet", Json()));
      if (!packet) {
        spdlog::debug("cluster: ignoring a malformed broadcast-with-ack request");
        return Decoded::Ignored;
      }
      Json opts = request.value("opts", Json::object());
      if (auto raw = request.find("heraldRaw"); raw != request.end()) restore_raw_texts(*packet, *raw);
      msg::BroadcastWithAck broadcast{request_id, std::move(*packet), target_from_json(opts)};
      if (opts.contains("flags") && opts["flags"].is_object())
        broadcast.timeout_ms = opts["flags"].value("timeout", int64_t{10000});
      auto herald = request.find("herald");
      broadcast.batch_acks = herald != request.end() && herald->is_object() && herald->value("batchAcks", false);
      out.body = std::move(broadcast);
      return Decoded::Ok;
    }
    default:
      spdlog::debug("cluster: ignoring request type {}", type_field->get<int>());
      return Decoded::Ignored;
  }
}

Wire::Decoded ClassicWire::decode_response(Json& response, Message& out) const {
  std::string request_id = id_field(response, "requestId");
  if (request_id.empty()) return Decoded::Ignored;
  int type = response.value("type", -1);
  const Json herald = response.value("herald", Json::object());
  if (type == type_of(RequestType::BroadcastClientCount)) {
    out.body = client_count(request_id, response, herald);
  } else if (type == type_of(RequestType::BroadcastAck)) {
    if (auto dropped = herald.find("dropped"); dropped != herald.end()) {
      out.body = msg::Dropped{request_id, socket_from_herald(*dropped)};
      return Decoded::Ok;
    }
    msg::Acks acks{request_id, {}, false};
    if (auto list = herald.find("acks"); list != herald.end() && list->is_array()) {
      acks.batch = true;
      acks.acks.reserve(list->size());
      for (const auto& ack : *list)
        if (ack.is_object()) acks.acks.emplace_back(socket_from_herald(ack), ack.value("packet", Json()));
    } else {
      acks.acks.emplace_back(socket_from_herald(herald), response.value("packet", Json()));
    }
    out.body = std::move(acks);
  } else if (type == type_of(RequestType::ServerSideEmit)) {
    out.body = msg::ServerSideReply{request_id, response.value("data", Json())};
  } else if (auto sockets = response.find("sockets"); sockets != response.end()) {
    out.body = msg::SocketsFound{request_id, sockets_from_json(*sockets), false};
  } else if (auto rooms = response.find("rooms"); rooms != response.end()) {
    out.body = msg::RoomsFound{request_id, string_list(*rooms)};
  } else {
    out.body = msg::Done{request_id};
  }
  return Decoded::Ok;
}

// ---- encoding ----

Outgoing ClassicWire::encode(const std::string& sender, const Body& body) const {
  auto request = [&](RequestType type, Json fields) {
    fields["uid"] = sender;
    fields["type"] = type_of(type);
    return Outgoing{request_channel_, to_text(fields)};
  };
  return std::visit(Overloaded{
                        [&](const msg::Broadcast& broadcast) {
                          std::string channel = channel_;
                          if (broadcast.target.rooms.size() == 1) channel += broadcast.target.rooms.front() + "#";
                          auto [packet, raw_texts] = packet_for_wire(broadcast.packet);
                          Json message = Json::array({sender, std::move(packet), target_to_json(broadcast.target)});
                          // A fourth and a fifth element, which Node's adapter does not read: the recovery stamp
                          // (or null) and the packet's raw JSON texts.
                          if (broadcast.stamp)
                            message.push_back(Json{{"o", broadcast.stamp->origin}, {"s", broadcast.stamp->seq}});
                          else if (!raw_texts.is_null())
                            message.push_back(nullptr);
                          if (!raw_texts.is_null()) message.push_back(std::move(raw_texts));
                          return Outgoing{channel, to_msgpack(message)};
                        },
                        [&](const msg::BroadcastWithAck& broadcast) {
                          Json opts = target_to_json(broadcast.target);
                          opts["flags"]["timeout"] = broadcast.timeout_ms;
                          auto [packet, raw_texts] = packet_for_wire(broadcast.packet);
                          Json fields{{"uid", sender},
                                      {"requestId", broadcast.request_id},
                                      {"type", type_of(RequestType::Broadcast)},
                                      {"packet", std::move(packet)},
                                      {"opts", std::move(opts)}};
                          // Herald nodes may answer with many acks per message; Node servers ignore this.
                          if (broadcast.batch_acks) fields["herald"] = {{"batchAcks", true}};
                          if (!raw_texts.is_null()) fields["heraldRaw"] = std::move(raw_texts);
                          return Outgoing{request_channel_, to_msgpack(fields)};
                        },
                        [&](const msg::RoomChange& change) {
                          return request(change.join ? RequestType::RemoteJoin : RequestType::RemoteLeave,
                                         {{"opts", target_to_json(change.target)}, {"rooms", change.rooms}});
                        },
                        [&](const msg::Disconnect& disconnect) {
                          return request(RequestType::RemoteDisconnect,
                                         {{"opts", target_to_json(disconnect.target)}, {"close", disconnect.close}});
                        },
                        [&](const msg::FetchSockets& fetch) {
                          return request(RequestType::RemoteFetch,
                                         {{"opts", target_to_json(fetch.target)}, {"requestId", fetch.request_id}});
                        },
                        [&](const msg::ServerSideEmit& emit) {
                          Json fields{{"data", emit.data}};
                          if (!emit.request_id.empty()) fields["requestId"] = emit.request_id;
                          return request(RequestType::ServerSideEmit, std::move(fields));
                        },
                        [&](const auto&) -> Outgoing { return {}; },  // answers go through encode_response
                    },
                    body);
}

Outgoing ClassicWire::encode_response(const std::string& sender, const std::string& requester, const Body& body) const {
  // Answers go to the requester's own channel: Node and Herald nodes both listen there, so other
  // nodes are spared everyone's answers.
  std::string channel = requester.empty() ? response_channel_ : response_channel_ + requester + "#";
  auto ack_answer = [&](const std::string& request_id, Json fields) {
    fields["type"] = type_of(RequestType::BroadcastAck);
    fields["requestId"] = request_id;
    return Outgoing{channel, to_msgpack(fields)};
  };
  return std::visit(
      Overloaded{
          [&](const msg::ClientCount& count) {
            return Outgoing{channel, to_text({{"type", type_of(RequestType::BroadcastClientCount)},
                                              {"requestId", count.request_id},
                                              {"clientCount", count.count},
                                              {"herald", herald_count(count, sender)}})};
          },
          [&](const msg::Acks& acks) {
            if (!acks.batch && acks.acks.size() == 1) {
              const auto& [socket, reply] = acks.acks.front();
              return ack_answer(acks.request_id, {{"packet", reply}, {"herald", herald_socket(socket)}});
            }
            Json list = Json::array();
            for (const auto& [socket, reply] : acks.acks) {
              Json herald = herald_socket(socket);
              herald["packet"] = reply;
              list.push_back(std::move(herald));
            }
            return ack_answer(acks.request_id, {{"herald", {{"acks", std::move(list)}}}});
          },
          [&](const msg::Dropped& dropped) {
            return ack_answer(dropped.request_id, {{"herald", {{"dropped", herald_socket(dropped.socket)}}}});
          },
          [&](const msg::SocketsFound& found) {
            return Outgoing{channel, to_text({{"requestId", found.request_id},
                                              {"sockets", sockets_to_json(found.sockets, found.ids_only)}})};
          },
          [&](const msg::RoomsFound& found) {
            return Outgoing{channel, to_text({{"requestId", found.request_id}, {"rooms", found.rooms}})};
          },
          [&](const msg::ServerSideReply& reply) {
            return Outgoing{channel, to_text({{"type", type_of(RequestType::ServerSideEmit)},
                                              {"requestId", reply.request_id},
                                              {"data", reply.reply}})};
          },
          [&](const msg::Done& done) {
            return Outgoing{channel, to_text({{"requestId", done.request_id}})};
          },
          [&](const auto&) -> Outgoing { return {}; },  // requests go through encode
      },
      body);
}

}  // namespace herald::cluster
