#include "cluster/redis_adapter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <utility>

#include "cluster/cluster.hpp"
#include "engineio/sid.hpp"
#include "metrics/metrics.hpp"
#include "socketio/recovery.hpp"
#include "socketio/socket.hpp"

namespace herald::cluster {

using socketio::Json;
using socketio::Packet;
using socketio::SocketInfo;
using socketio::Target;

namespace {

std::string new_request_id() { return engineio::random_id().substr(0, 6); }

TargetSpec spec_of(const Target& target) {
  return TargetSpec{target.rooms, target.except, target.flags.is_object() ? target.flags : Json::object()};
}

// The request id of a request, whatever its type.
std::string request_id_of(const Body& body) {
  return std::visit(
      [](const auto& message) -> std::string {
        if constexpr (requires { message.request_id; })
          return message.request_id;
        else
          return {};
      },
      body);
}

}  // namespace

RedisAdapter::RedisAdapter(Cluster& cluster, socketio::Namespace& nsp, std::unique_ptr<Wire> wire,
                           std::unique_ptr<Wire> emitter_wire)
    : cluster_(cluster),
      nsp_(nsp),
      wire_(std::move(wire)),
      emitter_wire_(std::move(emitter_wire)),
      ack_waiters_(cluster.pool()),
      gatherings_(std::make_shared<Gatherings>(cluster.pool().loop(Cluster::kRedisLoop))) {
  if (const auto* recovery = nsp.cluster_side().recovery())
    stream_ = std::make_unique<RecoveryStream>(cluster, cluster.config().prefix + "-recovery#" + nsp.name() + "#",
                                               recovery->config().window);
}

Target RedisAdapter::target_of(const TargetSpec& spec) const {
  return nsp_.cluster_side().remote_target(spec.rooms, spec.except,
                                           spec.flags.is_object() ? spec.flags : Json::object());
}

bool RedisAdapter::reachable() const { return cluster_.reachable(); }

// ---- publishing ----

void RedisAdapter::publish(const Body& body) {
  cluster_.post([self = shared_from_this(), outgoing = wire_->encode(cluster_.uid(), body)] { self->send(outgoing); });
}

void RedisAdapter::send(const Outgoing& outgoing) {
  if (outgoing.channel.empty()) return;
  if (!wire_->sharded()) {
    cluster_.publish(outgoing.channel, outgoing.payload);
    return;
  }
  cluster_.command({"SPUBLISH", outgoing.channel, outgoing.payload},
                   [channel = outgoing.channel](const redis::Reply& reply) {
                     if (reply.is_error()) spdlog::debug("redis: publish to {} failed: {}", channel, reply.str);
                   });
}

void RedisAdapter::answer(const std::string& requester, const Body& body) {
  send(wire_->encode_response(cluster_.uid(), requester, body));
}

void RedisAdapter::server_count(std::function<void(size_t count, bool ok)> done) {
  std::vector<std::string> command{"PUBSUB", wire_->sharded() ? "SHARDNUMSUB" : "NUMSUB", wire_->counted_channel()};
  // A Redis Cluster counts sharded subscribers per node: every master's count is added up.
  cluster_.commands()->command_each_master(
      std::move(command), [done = std::move(done)](const std::vector<redis::Reply>& replies) {
        size_t count = 0;
        for (const auto& reply : replies) {
          if (reply.type != redis::Reply::Type::Array || reply.elements.size() < 2) return done(0, false);
          count += static_cast<size_t>(std::max<int64_t>(0, reply.elements[1].integer));
        }
        done(count, !replies.empty());
      });
}

// ---- rooms with a channel of their own (sharded) ----

void RedisAdapter::room_opened(const std::string& room) {
  if (!wire_->sharded()) return;
  std::string channel = wire_->room_channel(room);
  if (channel.empty()) return;
  cluster_.post([self = shared_from_this(), channel = std::move(channel)] {
    if (self->room_loops_[channel]++ == 0) self->cluster_.subscriber()->ssubscribe(channel);
  });
}

void RedisAdapter::room_closed(const std::string& room) {
  if (!wire_->sharded()) return;
  std::string channel = wire_->room_channel(room);
  if (channel.empty()) return;
  cluster_.post([self = shared_from_this(), channel = std::move(channel)] {
    auto found = self->room_loops_.find(channel);
    if (found == self->room_loops_.end() || --found->second > 0) return;
    self->room_loops_.erase(found);
    self->cluster_.subscriber()->sunsubscribe(channel);
  });
}

// ---- outgoing ----

void RedisAdapter::broadcast(const Packet& packet, const Target& target, const socketio::Stamp* stamp) {
  msg::Broadcast broadcast{packet, spec_of(target), {}, stamp ? std::optional(*stamp) : std::nullopt};
  Outgoing outgoing = wire_->encode(cluster_.uid(), broadcast);
  // A stamped broadcast is also kept in the recovery stream (as a classic message).
  std::string kept;
  if (stamp && stream_)
    kept = wire_->sharded() ? classic_wire().encode(cluster_.uid(), broadcast).payload : outgoing.payload;
  cluster_.post([self = shared_from_this(), outgoing = std::move(outgoing), kept = std::move(kept)]() mutable {
    if (!kept.empty()) self->stream_->append(std::move(kept));
    self->send(outgoing);
  });
}

void RedisAdapter::read_recovery_history() {
  if (!stream_) return;
  stream_->read_window([self = shared_from_this()](std::vector<RecoveryStream::Message>& messages) {
    std::vector<socketio::Recovery::History> history;
    const Wire& classic = self->classic_wire();
    for (auto& [payload, emitted] : messages) {
      Message message;
      if (classic.decode(classic.broadcast_channel(), payload, message) != Wire::Decoded::Ok) continue;
      auto* broadcast = std::get_if<msg::Broadcast>(&message.body);
      if (!broadcast || !broadcast->stamp) continue;
      history.push_back(
          {std::move(*broadcast->stamp), self->target_of(broadcast->target), std::move(broadcast->packet), emitted});
    }
    size_t taken = self->nsp_.cluster_side().recovery()->prepend_history(std::move(history));
    if (taken > 0)
      spdlog::info("cluster: {} broadcasts to {} from before this node saw them, kept for catch-ups", taken,
                   self->nsp_.name());
  });
}

void RedisAdapter::broadcast_with_ack(const Packet& packet, const Target& target, std::chrono::milliseconds timeout,
                                      std::shared_ptr<socketio::BroadcastAckHandlers> handlers) {
  std::string request_id = new_request_id();
  Outgoing outgoing =
      wire_->encode(cluster_.uid(), msg::BroadcastWithAck{request_id, packet, spec_of(target), timeout.count(), true});
  size_t origin = socketio::LoopSockets::origin_loop();
  cluster_.post([self = shared_from_this(), request_id, outgoing = std::move(outgoing), handlers, origin, timeout] {
    self->ack_waiters_.add(request_id, handlers, origin,
                           self->cluster_.pool().clock().now() + timeout + std::chrono::seconds(1));
    self->send(outgoing);
    self->server_count([self, handlers, origin](size_t count, bool ok) {
      if (!ok) spdlog::warn("cluster: cannot count servers (redis unreachable); acks from other nodes are not awaited");
      size_t others = ok && count > 0 ? count - 1 : 0;
      self->cluster_.pool().post(origin, [handlers, others, ok] {
        if (handlers->on_remote_nodes) handlers->on_remote_nodes(others, ok);
      });
    });
  });
}

void RedisAdapter::sockets_join(const Target& target, const std::vector<std::string>& rooms) {
  publish(msg::RoomChange{true, spec_of(target), rooms, {}});
}

void RedisAdapter::sockets_leave(const Target& target, const std::vector<std::string>& rooms) {
  publish(msg::RoomChange{false, spec_of(target), rooms, {}});
}

void RedisAdapter::disconnect_sockets(const Target& target, bool close) {
  publish(msg::Disconnect{spec_of(target), close, {}});
}

void RedisAdapter::server_side_emit(const Json& data) { publish(msg::ServerSideEmit{data, {}}); }

void RedisAdapter::fetch_sockets(const Target& target,
                                 std::function<void(std::vector<SocketInfo>& sockets, bool complete)> done) {
  auto found = std::make_shared<std::vector<SocketInfo>>();
  Gatherings::Gathering gathering{"fetchSockets", 0,
                                  [found](Body& answer) {
                                    auto* sockets = std::get_if<msg::SocketsFound>(&answer);
                                    if (!sockets) return false;
                                    std::move(sockets->sockets.begin(), sockets->sockets.end(),
                                              std::back_inserter(*found));
                                    return true;
                                  },
                                  [found, done = std::move(done)](bool complete) { done(*found, complete); }};
  cluster_.post([self = shared_from_this(), spec = spec_of(target), gathering = std::move(gathering)]() mutable {
    self->gather(msg::FetchSockets{{}, std::move(spec), false}, self->cluster_.config().requests_timeout,
                 std::move(gathering));
  });
}

void RedisAdapter::server_side_emit_with_ack(const Json& data, std::chrono::milliseconds timeout,
                                             std::function<void(std::vector<Json>& replies, bool complete)> done) {
  size_t origin = socketio::LoopSockets::origin_loop();
  auto replies = std::make_shared<std::vector<Json>>();
  Gatherings::Gathering gathering{
      "server-side emit", 0,
      [replies](Body& answer) {
        auto* reply = std::get_if<msg::ServerSideReply>(&answer);
        if (!reply) return false;
        replies->push_back(std::move(reply->reply));
        return true;
      },
      [self = shared_from_this(), replies, origin, done = std::move(done)](bool complete) mutable {
        self->cluster_.pool().post(origin, [done = std::move(done), replies = std::move(*replies), complete]() mutable {
          done(replies, complete);
        });
      },
      /*silence_expected=*/true};
  // Published at once, then counted (as broadcast_with_ack does): it reaches the other nodes
  // before any broadcast the caller sends after it (a push's keepDropped before the push).
  cluster_.post([self = shared_from_this(), data, timeout, gathering = std::move(gathering)]() mutable {
    std::string request_id = new_request_id();
    self->gatherings_->start_uncounted(request_id, timeout, std::move(gathering));
    self->send(self->wire_->encode(self->cluster_.uid(), msg::ServerSideEmit{data, request_id}));
    self->server_count([self, request_id](size_t count, bool ok) {
      self->gatherings_->counted(request_id, ok && count > 0 ? count - 1 : 0, ok);
    });
  });
}

void RedisAdapter::gather(Body request, std::chrono::milliseconds timeout, Gatherings::Gathering gathering) {
  server_count([self = shared_from_this(), request = std::move(request), timeout, gathering = std::move(gathering)](
                   size_t count, bool ok) mutable {
    if (!ok || count <= 1) return gathering.done(ok);
    std::string request_id = new_request_id();
    std::visit(
        [&](auto& message) {
          if constexpr (requires { message.request_id; }) message.request_id = request_id;
        },
        request);
    gathering.awaiting = count - 1;
    self->gatherings_->start(request_id, timeout, std::move(gathering));
    self->send(self->wire_->encode(self->cluster_.uid(), request));
  });
}

// ---- incoming ----

void RedisAdapter::receive(std::string_view channel, std::string_view payload, bool by_pattern) {
  // With a sharded wire, classic messages (an emitter's) come by pattern or on the classic
  // request channel; the sharded ones on channels of their own.
  const Wire* wire = wire_.get();
  if (emitter_wire_ && (by_pattern || !wire_->owns(channel))) wire = emitter_wire_.get();
  Message message;
  switch (wire->decode(channel, payload, message)) {
    case Wire::Decoded::Malformed:
      metrics::global().rejected_cluster_messages.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("cluster: ignoring a malformed message on {}", channel);
      return;
    case Wire::Decoded::Ignored:
      return;
    case Wire::Decoded::Ok:
      break;
  }
  if (message.sender == cluster_.uid()) return;  // our own
  if (ack_waiters_.answer(message.body)) return;
  std::string request_id = request_id_of(message.body);
  if (!request_id.empty() && gatherings_->answer(request_id, message.body)) return;
  std::visit(
      [&](auto& body) {
        if constexpr (requires { handle(message.sender, body); }) handle(message.sender, body);
      },
      message.body);
}

void RedisAdapter::handle(const std::string& /*sender*/, msg::Broadcast& broadcast) {
  socketio::Broadcast(nsp_, target_of(broadcast.target))
      .local()
      .from_other_node(broadcast.stamp ? &*broadcast.stamp : nullptr)
      .emit_packet(std::move(broadcast.packet));
}

void RedisAdapter::handle(const std::string& sender, msg::AllRooms& request) {
  nsp_.sockets().collect<std::vector<std::string>>(
      Target{{}, {}, {}, Json::object()},
      [](const std::vector<socketio::Socket*>& sockets) {
        std::vector<std::string> rooms;
        for (auto* socket : sockets) rooms.insert(rooms.end(), socket->rooms().begin(), socket->rooms().end());
        return rooms;
      },
      [self = shared_from_this(), sender,
       request_id = request.request_id](std::vector<std::vector<std::string>>& parts) {
        std::set<std::string> rooms;
        for (auto& part : parts) rooms.insert(part.begin(), part.end());
        self->answer(sender, msg::RoomsFound{request_id, {rooms.begin(), rooms.end()}});
      });
}

void RedisAdapter::handle(const std::string& sender, msg::ServerSideEmit& emit) {
  socketio::Namespace::ServerSideReply reply;
  if (!emit.request_id.empty()) {
    reply = [self = shared_from_this(), sender, request_id = emit.request_id](Json value) {
      self->cluster_.post([self, sender, request_id, value = std::move(value)] {
        self->answer(sender, msg::ServerSideReply{request_id, value});
      });
    };
  }
  nsp_.cluster_side().server_side_received(emit.data, std::move(reply));
}

void RedisAdapter::handle(const std::string& sender, msg::RoomChange& change) {
  socketio::Broadcast broadcast(nsp_, target_of(change.target));
  broadcast.local();
  for (auto& room : change.rooms) change.join ? broadcast.sockets_join(room) : broadcast.sockets_leave(room);
  if (!change.request_id.empty()) answer(sender, msg::Done{change.request_id});
}

void RedisAdapter::handle(const std::string& sender, msg::Disconnect& disconnect) {
  socketio::Broadcast(nsp_, target_of(disconnect.target)).local().disconnect_sockets(disconnect.close);
  if (!disconnect.request_id.empty()) answer(sender, msg::Done{disconnect.request_id});
}

void RedisAdapter::handle(const std::string& sender, msg::FetchSockets& fetch) {
  socketio::Broadcast(nsp_, target_of(fetch.target))
      .local()
      .fetch_sockets([self = shared_from_this(), sender, request_id = fetch.request_id, ids_only = fetch.ids_only](
                         std::vector<SocketInfo>& sockets, bool) {
        self->answer(sender, msg::SocketsFound{request_id, std::move(sockets), ids_only});
      });
}

void RedisAdapter::handle(const std::string& sender, msg::BroadcastWithAck& broadcast) {
  // Node servers publish the packet before numbering it: each receiving node numbers it itself.
  if (!broadcast.packet.id) broadcast.packet.id = nsp_.server().next_ack_id();
  auto relay = std::make_shared<AckRelay>(
      cluster_.pool(), Cluster::kRedisLoop, broadcast.request_id, broadcast.batch_acks, nsp_.sockets().loop_count(),
      [self = shared_from_this(), sender](const Body& answer) { self->answer(sender, answer); });
  socketio::Broadcast(nsp_, target_of(broadcast.target))
      .local()
      .emit_packet_with_ack(std::move(broadcast.packet),
                            std::chrono::milliseconds(std::clamp<int64_t>(broadcast.timeout_ms, 1, 600000)),
                            relay->handlers());
}

}  // namespace herald::cluster
