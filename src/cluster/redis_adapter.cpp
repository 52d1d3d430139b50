#include "cluster/redis_adapter.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <set>
#include <utility>

#include "cluster/cluster.hpp"
#include "codec/json_depth.hpp"
#include "engineio/sid.hpp"
#include "metrics/metrics.hpp"
#include "socketio/socket.hpp"

namespace herald::cluster {

using socketio::Json;
using socketio::Packet;
using socketio::PacketType;
using socketio::SocketInfo;
using socketio::Target;

namespace {

std::vector<std::string> string_list(const Json& value) {
  std::vector<std::string> items;
  if (!value.is_array()) return items;
  for (const auto& item : value) {
    if (item.is_string())
      items.push_back(item.get<std::string>());
    else if (item.is_number())
      items.push_back(item.dump());  // Node allows numeric rooms
  }
  return items;
}

std::string to_msgpack(const Json& value) {
  std::string out;
  Json::to_msgpack(value, out);
  return out;
}

// JSON when the payload starts with '{', else msgpack, as the Node adapter decides. Deeper nesting
// than any server sends is discarded like malformed input.
Json decode_payload(std::string_view payload) {
  if (!payload.empty() && payload.front() == '{') {
    if (!codec::json_depth_within(payload)) return Json(Json::value_t::discarded);
    return Json::parse(payload, nullptr, false);
  }
  if (!codec::msgpack_depth_within(payload)) return Json(Json::value_t::discarded);
  return Json::from_msgpack(payload, true, false);
}

// An ack answer (type 9) to the request `id_only` names: `fields` with the type and request id.
Json ack_answer(const Json& id_only, Json fields) {
  fields["type"] = static_cast<int>(RequestType::BroadcastAck);
  fields["requestId"] = id_only["requestId"];
  return fields;
}

SocketInfo info_from_herald(const Json& herald) {
  SocketInfo info;
  if (!herald.is_object()) return info;
  info.id = herald.value("socket", "");
  if (auto uid = herald.find("uid"); uid != herald.end() && uid->is_string()) info.user = uid->get<std::string>();
  return info;
}

}  // namespace

Json packet_to_json(const Packet& packet) {
  Json json{{"type", static_cast<int>(packet.type)}, {"data", packet.data}, {"nsp", packet.nsp}};
  if (packet.id) json["id"] = *packet.id;
  return json;
}

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

RedisAdapter::RedisAdapter(Cluster& cluster, socketio::Namespace& nsp)
    : cluster_(cluster),
      nsp_(nsp),
      channel_(cluster.config().prefix + "#" + nsp.name() + "#"),
      request_channel_(cluster.config().prefix + "-request#" + nsp.name() + "#"),
      response_channel_(cluster.config().prefix + "-response#" + nsp.name() + "#"),
      specific_response_channel_(response_channel_ + cluster.uid() + "#") {}

std::vector<std::string> RedisAdapter::channels() const {
  return {request_channel_, response_channel_, specific_response_channel_};
}

bool RedisAdapter::owns(std::string_view channel) const {
  return channel.starts_with(channel_) || channel.starts_with(request_channel_) ||
         channel.starts_with(response_channel_);
}

Json RedisAdapter::opts_json(const Target& target) const {
  Json opts{{"rooms", target.rooms}, {"except", target.except}};
  opts["flags"] = target.flags.is_object() ? target.flags : Json::object();
  return opts;
}

Target RedisAdapter::target_from(const Json& opts) const {
  if (!opts.is_object()) return Target{{}, {}, {}, Json::object()};
  Json flags = opts.contains("flags") && opts["flags"].is_object() ? opts["flags"] : Json::object();
  return nsp_.remote_target(string_list(opts.value("rooms", Json::array())),
                            string_list(opts.value("except", Json::array())), std::move(flags));
}

// ---- outgoing ----

void RedisAdapter::broadcast(const Packet& packet, const Target& target) {
  std::string channel = channel_;
  if (target.rooms.size() == 1) channel += target.rooms.front() + "#";
  std::string message = to_msgpack(Json::array({cluster_.uid(), packet_to_json(packet), opts_json(target)}));
  cluster_.post([self = shared_from_this(), channel = std::move(channel), message = std::move(message)]() mutable {
    self->cluster_.publish(channel, std::move(message));
  });
}

void RedisAdapter::broadcast_with_ack(const Packet& packet, const Target& target, std::chrono::milliseconds timeout,
                                      std::shared_ptr<socketio::BroadcastAckHandlers> handlers) {
  std::string request_id = engineio::random_id().substr(0, 6);
  Json opts = opts_json(target);
  opts["flags"]["timeout"] = timeout.count();
  Json request{{"uid", cluster_.uid()},
               {"requestId", request_id},
               {"type", static_cast<int>(RequestType::Broadcast)},
               {"packet", packet_to_json(packet)},
               {"opts", std::move(opts)},
               // Herald nodes may answer with many acks per message; Node servers ignore this.
               {"herald", {{"batchAcks", true}}}};
  size_t origin = socketio::Namespace::origin_loop();
  cluster_.post(
      [self = shared_from_this(), request_id, message = to_msgpack(request), handlers, origin, timeout]() mutable {
        self->drop_expired_acks();
        self->ack_requests_[request_id] =
            AckRequest{handlers, origin, std::chrono::steady_clock::now() + timeout + std::chrono::seconds(1)};
        self->cluster_.publish(self->request_channel_, std::move(message));
        self->server_count([self, handlers, origin](size_t count, bool ok) {
          if (!ok)
            spdlog::warn("cluster: cannot count servers (redis unreachable); acks from other nodes are not awaited");
          size_t others = ok && count > 0 ? count - 1 : 0;
          self->cluster_.pool().post(origin, [handlers, others, ok] {
            if (handlers->on_remote_nodes) handlers->on_remote_nodes(others, ok);
          });
        });
      });
}

void RedisAdapter::publish_request(const Json& request) {
  cluster_.post(
      [self = shared_from_this(), message = request.dump(-1, ' ', false, Json::error_handler_t::replace)]() mutable {
        self->cluster_.publish(self->request_channel_, std::move(message));
      });
}

void RedisAdapter::sockets_join(const Target& target, const std::vector<std::string>& rooms) {
  publish_request({{"uid", cluster_.uid()},
                   {"type", static_cast<int>(RequestType::RemoteJoin)},
                   {"opts", opts_json(target)},
                   {"rooms", rooms}});
}

void RedisAdapter::sockets_leave(const Target& target, const std::vector<std::string>& rooms) {
  publish_request({{"uid", cluster_.uid()},
                   {"type", static_cast<int>(RequestType::RemoteLeave)},
                   {"opts", opts_json(target)},
                   {"rooms", rooms}});
}

void RedisAdapter::disconnect_sockets(const Target& target, bool close) {
  publish_request({{"uid", cluster_.uid()},
                   {"type", static_cast<int>(RequestType::RemoteDisconnect)},
                   {"opts", opts_json(target)},
                   {"close", close}});
}

void RedisAdapter::server_side_emit(const Json& data) {
  publish_request({{"uid", cluster_.uid()}, {"type", static_cast<int>(RequestType::ServerSideEmit)}, {"data", data}});
}

void RedisAdapter::fetch_sockets(const Target& target,
                                 std::function<void(std::vector<SocketInfo>& sockets, bool complete)> done) {
  Json request{
      {"uid", cluster_.uid()}, {"type", static_cast<int>(RequestType::RemoteFetch)}, {"opts", opts_json(target)}};
  auto collect = [done = std::move(done)](std::vector<Json>& responses, bool complete) {
    std::vector<SocketInfo> found;
    for (const auto& response : responses) {
      auto sockets = response.find("sockets");
      if (sockets == response.end() || !sockets->is_array()) continue;
      for (const auto& item : *sockets) {
        if (item.is_string()) {
          found.push_back(SocketInfo{item.get<std::string>(), "", nullptr});
        } else if (item.is_object()) {
          Json data = item.value("data", Json());
          std::string user = data.is_object() && data.contains("uid") && data["uid"].is_string() ? data["uid"] : "";
          found.push_back(SocketInfo{item.value("id", ""), std::move(user), std::move(data),
                                     string_list(item.value("rooms", Json::array())), item.value("handshake", Json())});
        }
      }
    }
    done(found, complete);
  };
  cluster_.post([self = shared_from_this(), request = std::move(request), collect = std::move(collect)]() mutable {
    self->gather(std::move(request), self->cluster_.config().requests_timeout,
                 Gathering{"fetchSockets", -1, {}, 0, std::move(collect), nullptr});
  });
}

void RedisAdapter::server_side_emit_with_ack(const Json& data, std::chrono::milliseconds timeout,
                                             std::function<void(std::vector<Json>& replies, bool complete)> done) {
  Json request{{"uid", cluster_.uid()}, {"type", static_cast<int>(RequestType::ServerSideEmit)}, {"data", data}};
  size_t origin = socketio::Namespace::origin_loop();
  auto collect = [self = shared_from_this(), origin, done = std::move(done)](std::vector<Json>& responses,
                                                                             bool complete) mutable {
    std::vector<Json> replies;
    replies.reserve(responses.size());
    for (auto& response : responses) replies.push_back(response.value("data", Json()));
    self->cluster_.pool().post(origin, [done = std::move(done), replies = std::move(replies), complete]() mutable {
      done(replies, complete);
    });
  };
  cluster_.post(
      [self = shared_from_this(), request = std::move(request), timeout, collect = std::move(collect)]() mutable {
        self->gather(
            std::move(request), timeout,
            Gathering{
                "server-side emit", static_cast<int>(RequestType::ServerSideEmit), {}, 0, std::move(collect), nullptr});
      });
}

void RedisAdapter::gather(Json request, std::chrono::milliseconds timeout, Gathering gathering) {
  auto pending = std::make_shared<Gathering>(std::move(gathering));
  server_count(
      [self = shared_from_this(), request = std::move(request), timeout, pending](size_t count, bool ok) mutable {
        if (!ok || count <= 1) return pending->done(pending->responses, ok);
        std::string request_id = engineio::random_id().substr(0, 6);
        request["requestId"] = request_id;
        pending->awaiting = count - 1;
        pending->timer =
            std::make_unique<boost::asio::steady_timer>(self->cluster_.pool().loop(Cluster::kRedisLoop), timeout);
        pending->timer->async_wait([self, request_id](const boost::system::error_code& ec) {
          if (!ec) self->finish_gathering(request_id, false);
        });
        self->gatherings_[request_id] = pending;
        self->cluster_.publish(self->request_channel_, request.dump(-1, ' ', false, Json::error_handler_t::replace));
      });
}

void RedisAdapter::finish_gathering(const std::string& request_id, bool complete) {
  auto found = gatherings_.find(request_id);
  if (found == gatherings_.end()) return;
  auto pending = found->second;
  gatherings_.erase(found);
  pending->timer->cancel();
  if (!complete) spdlog::warn("cluster: {} timed out with {} nodes silent", pending->what, pending->awaiting);
  pending->done(pending->responses, complete);
}

bool RedisAdapter::reachable() const { return cluster_.reachable(); }

void RedisAdapter::server_count(std::function<void(size_t count, bool ok)> done) {
  cluster_.command({"PUBSUB", "NUMSUB", request_channel_}, [done = std::move(done)](const redis::Reply& reply) {
    if (reply.type != redis::Reply::Type::Array || reply.elements.size() < 2) return done(0, false);
    done(static_cast<size_t>(std::max<int64_t>(0, reply.elements[1].integer)), true);
  });
}

void RedisAdapter::drop_expired_acks() {
  auto now = std::chrono::steady_clock::now();
  std::erase_if(ack_requests_, [&](const auto& entry) { return entry.second.expires <= now; });
}

// ---- incoming ----

void RedisAdapter::on_broadcast(std::string_view /*channel*/, std::string_view payload) {
  Json message = decode_payload(payload);
  if (message.is_discarded() || !message.is_array() || message.size() < 3) {
    metrics::global().rejected_cluster_messages.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("cluster: ignoring a malformed broadcast on {}", channel_);
    return;
  }
  if (message[0].is_string() && message[0].get<std::string>() == cluster_.uid()) return;  // our own
  Json& packet_json = message[1];
  if (packet_json.is_object() && !packet_json.contains("nsp")) packet_json["nsp"] = "/";
  if (!packet_json.is_object() || packet_json.value("nsp", "") != nsp_.name()) return;
  auto packet = packet_from_json(packet_json);
  if (!packet) {
    spdlog::debug("cluster: ignoring a broadcast packet Herald cannot send");
    return;
  }
  socketio::Broadcast(nsp_, target_from(message[2])).local().emit_packet(std::move(*packet));
}

void RedisAdapter::on_request_or_response(std::string_view channel, std::string_view payload) {
  Json message = decode_payload(payload);
  if (message.is_discarded() || !message.is_object()) {
    metrics::global().rejected_cluster_messages.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("cluster: ignoring a malformed message on {}", channel);
    return;
  }
  if (channel.starts_with(response_channel_)) return on_response(message);
  if (channel.starts_with(request_channel_)) on_request(message);
}

void RedisAdapter::answer(const Json& request, const Json& response, bool msgpack) {
  // Answer on the requester's own channel: Node and Herald nodes both listen there, so other nodes
  // are spared everyone's responses.
  std::string channel = response_channel_;
  if (auto uid = request.find("uid"); uid != request.end() && uid->is_string())
    channel += uid->get<std::string>() + "#";
  cluster_.publish(channel,
                   msgpack ? to_msgpack(response) : response.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void RedisAdapter::on_request(Json& request) {
  auto type_field = request.find("type");
  if (type_field == request.end() || !type_field->is_number_integer()) return;
  auto type = static_cast<RequestType>(type_field->get<int>());
  bool own = request.value("uid", "") == cluster_.uid();
  switch (type) {
    case RequestType::Sockets:
    case RequestType::RemoteFetch:
      if (!own) fetch_request(request);
      return;
    case RequestType::AllRooms: {
      if (own) return;
      nsp_.collect<std::vector<std::string>>(
          Target{{}, {}, {}, Json::object()},
          [](const std::vector<socketio::Socket*>& sockets) {
            std::vector<std::string> rooms;
            for (auto* socket : sockets) rooms.insert(rooms.end(), socket->rooms().begin(), socket->rooms().end());
            return rooms;
          },
          [self = shared_from_this(), request](std::vector<std::vector<std::string>>& parts) {
            std::set<std::string> rooms;
            for (auto& part : parts) rooms.insert(part.begin(), part.end());
            self->answer(request, Json{{"requestId", request.value("requestId", "")}, {"rooms", rooms}});
          });
      return;
    }
    case RequestType::RemoteJoin:
    case RequestType::RemoteLeave:
    case RequestType::RemoteDisconnect:
      if (!own) room_request(request, type);
      return;
    case RequestType::ServerSideEmit:
      if (!own) server_side_request(request);
      return;
    case RequestType::Broadcast:
      if (!own) ack_broadcast_request(request);
      return;
    default:
      spdlog::debug("cluster: ignoring request type {}", type_field->get<int>());
  }
}

void RedisAdapter::server_side_request(Json& request) {
  Json data = request.value("data", Json::array());
  socketio::Namespace::ServerSideReply reply;
  if (request.contains("requestId")) {
    // As a Node server answers: {type, requestId, data: <the handler's reply>}.
    Json meta{{"uid", request.value("uid", "")}, {"requestId", request["requestId"]}};
    reply = [self = shared_from_this(), meta = std::move(meta)](Json value) {
      self->cluster_.post([self, meta, value = std::move(value)] {
        self->answer(meta, Json{{"type", static_cast<int>(RequestType::ServerSideEmit)},
                                {"requestId", meta["requestId"]},
                                {"data", value}});
      });
    };
  }
  nsp_.server_side_received(data, std::move(reply));
}

void RedisAdapter::room_request(const Json& request, RequestType type) {
  Target target;
  if (request.contains("opts")) {
    target = target_from(request["opts"]);
  } else if (auto sid = request.find("sid"); sid != request.end() && sid->is_string()) {
    target = Target{{sid->get<std::string>()}, {}, {}, Json::object()};  // a socket id is its own room
  } else {
    return;
  }
  socketio::Broadcast broadcast(nsp_, std::move(target));
  broadcast.local();
  if (type == RequestType::RemoteDisconnect) {
    broadcast.disconnect_sockets(request.value("close", false));
  } else {
    std::vector<std::string> rooms = string_list(request.value("rooms", Json::array()));
    if (auto room = request.find("room"); room != request.end() && room->is_string()) rooms.push_back(*room);
    for (auto& room : rooms)
      type == RequestType::RemoteJoin ? broadcast.sockets_join(room) : broadcast.sockets_leave(room);
  }
  if (request.contains("requestId") && request.contains("sid"))
    answer(request, Json{{"requestId", request["requestId"]}});
}

void RedisAdapter::fetch_request(const Json& request) {
  bool ids_only = request.value("type", 0) == static_cast<int>(RequestType::Sockets);
  Target target = ids_only ? Target{string_list(request.value("rooms", Json::array())), {}, {}, Json::object()}
                           : target_from(request.value("opts", Json::object()));
  socketio::Broadcast(nsp_, std::move(target))
      .local()
      .fetch_sockets([self = shared_from_this(), request, ids_only](std::vector<SocketInfo>& sockets, bool) {
        Json list = Json::array();
        for (auto& socket : sockets) {
          if (ids_only) {
            list.push_back(socket.id);
          } else {
            list.push_back(Json{
                {"id", socket.id}, {"handshake", socket.handshake}, {"rooms", socket.rooms}, {"data", socket.data}});
          }
        }
        self->answer(request, Json{{"requestId", request.value("requestId", "")}, {"sockets", std::move(list)}});
      });
}

void RedisAdapter::ack_broadcast_request(Json& request) {
  auto packet = packet_from_json(request.value("packet", Json()));
  if (!packet) {
    spdlog::debug("cluster: ignoring a malformed broadcast-with-ack request");
    return;
  }
  // Node servers publish the packet before numbering it: each receiving node numbers it itself.
  if (!packet->id) packet->id = nsp_.server().next_ack_id();
  Json opts = request.value("opts", Json::object());
  int64_t timeout = 10000;
  if (opts.contains("flags") && opts["flags"].is_object()) timeout = opts["flags"].value("timeout", int64_t{10000});
  Json id_only{{"requestId", request.value("requestId", "")}, {"uid", request.value("uid", "")}};
  auto self = shared_from_this();
  // Every loop here reports its reach; the origin expects one count per node, so add them up.
  struct Reach {
    size_t loops_left;
    size_t count = 0;
    Json users = Json::array();
  };
  auto reach = std::make_shared<Reach>(Reach{nsp_.loop_count()});
  // The acks not yet answered, when the requester takes them in batches (a Herald node). Touched
  // only on this loop, where every ack of the broadcast is reported.
  struct AckBatch {
    Json list = Json::array();
    bool posted = false;
  };
  auto herald_flags = request.find("herald");
  bool batch_acks =
      herald_flags != request.end() && herald_flags->is_object() && herald_flags->value("batchAcks", false);
  socketio::BroadcastAckHandlers handlers{
      [self, id_only, reach](const std::vector<SocketInfo>& reached) {
        reach->count += reached.size();
        for (const auto& socket : reached)
          if (!socket.user.empty()) reach->users.push_back(socket.user);
        if (--reach->loops_left > 0) return;
        self->answer(id_only, Json{{"type", static_cast<int>(RequestType::BroadcastClientCount)},
                                   {"requestId", id_only["requestId"]},
                                   {"clientCount", reach->count},
                                   {"herald", {{"users", std::move(reach->users)}}}});
      },
      [self, id_only, acks = batch_acks ? std::make_shared<AckBatch>() : nullptr](const SocketInfo& socket,
                                                                                  Json& args) {
        Json herald{{"socket", socket.id}};
        if (!socket.user.empty()) herald["uid"] = socket.user;
        Json reply = args.is_array() && !args.empty() ? std::move(args[0]) : Json();
        if (!acks) {
          return self->answer(id_only,
                              ack_answer(id_only, {{"packet", std::move(reply)}, {"herald", std::move(herald)}}), true);
        }
        herald["packet"] = std::move(reply);
        acks->list.push_back(std::move(herald));
        if (acks->posted) return;
        // Acks reach this loop in batches: answer each batch with one message once it is handled.
        acks->posted = true;
        self->nsp_.post_to_loop(socketio::Namespace::origin_loop(), [self, id_only, acks] {
          acks->posted = false;
          Json batch{{"herald", {{"acks", std::exchange(acks->list, Json::array())}}}};
          self->answer(id_only, ack_answer(id_only, std::move(batch)), true);
        });
      },
      // A Herald requester keeps the push for a user whose socket here closed before acking.
      batch_acks ? std::function<void(const SocketInfo&)>([self, id_only](const SocketInfo& socket) {
        Json herald{{"socket", socket.id}};
        if (!socket.user.empty()) herald["uid"] = socket.user;
        self->answer(id_only, ack_answer(id_only, {{"herald", {{"dropped", std::move(herald)}}}}), true);
      })
                 : nullptr,
      nullptr};
  socketio::Broadcast(nsp_, target_from(opts))
      .local()
      .emit_packet_with_ack(std::move(*packet), std::chrono::milliseconds(std::clamp<int64_t>(timeout, 1, 600000)),
                            std::move(handlers));
}

void RedisAdapter::on_response(Json& response) {
  std::string request_id = response.value("requestId", "");
  if (request_id.empty()) return;
  if (auto found = ack_requests_.find(request_id); found != ack_requests_.end()) {
    auto handlers = found->second.handlers;
    size_t origin = found->second.origin;
    int type = response.value("type", -1);
    const Json herald = response.value("herald", Json::object());
    if (type == static_cast<int>(RequestType::BroadcastClientCount)) {
      std::vector<SocketInfo> reached;
      if (auto users = herald.find("users"); users != herald.end() && users->is_array()) {
        for (const auto& uid : *users)
          if (uid.is_string()) reached.push_back(SocketInfo{"", uid.get<std::string>(), nullptr});
      }
      // A Node server says only how many it reached.
      size_t count = response.value("clientCount", size_t{0});
      while (reached.size() < count) reached.push_back(SocketInfo{"", "", nullptr});
      cluster_.pool().post(origin, [handlers, reached = std::move(reached)]() mutable {
        if (handlers->on_reached) handlers->on_reached(reached);
      });
    } else if (auto dropped = herald.find("dropped");
               type == static_cast<int>(RequestType::BroadcastAck) && dropped != herald.end()) {
      cluster_.pool().post(origin, [handlers, socket = info_from_herald(*dropped)] {
        if (handlers->on_dropped) handlers->on_dropped(socket);
      });
    } else if (type == static_cast<int>(RequestType::BroadcastAck)) {
      // One ack (a Node server, or the standard form), or a Herald node's batch of them.
      std::vector<std::pair<SocketInfo, Json>> acks;
      if (auto list = herald.find("acks"); list != herald.end() && list->is_array()) {
        acks.reserve(list->size());
        for (const auto& ack : *list)
          if (ack.is_object()) acks.emplace_back(info_from_herald(ack), Json::array({ack.value("packet", Json())}));
      } else {
        acks.emplace_back(info_from_herald(herald), Json::array({response.value("packet", Json())}));
      }
      cluster_.pool().post(origin, [handlers, acks = std::move(acks)]() mutable {
        for (auto& [socket, args] : acks)
          if (handlers->on_ack) handlers->on_ack(socket, args);
      });
    }
    return;
  }
  if (auto found = gatherings_.find(request_id); found != gatherings_.end()) {
    auto pending = found->second;
    if (pending->response_type >= 0 && response.value("type", -1) != pending->response_type) return;
    pending->responses.push_back(std::move(response));
    if (--pending->awaiting == 0) finish_gathering(request_id, true);
  }
}

}  // namespace herald::cluster
