// One namespace's side of the cluster: what this node asks of the others (broadcasts, room
// changes, fetchSockets, server-side events, broadcasts with acks) and what it does for them.
// Messages are parsed once by the namespace's wire (ClassicWire or ShardedWire, wire-compatible
// with @socket.io/redis-adapter's two adapters and @socket.io/redis-emitter) into typed messages,
// and dispatched on their type. All state lives on the Redis loop.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "cluster/ack_relay.hpp"
#include "cluster/gatherings.hpp"
#include "cluster/recovery_stream.hpp"
#include "cluster/wire.hpp"
#include "socketio/adapter.hpp"
#include "socketio/namespace.hpp"

namespace herald::cluster {

class Cluster;

class RedisAdapter : public socketio::RemoteAdapter, public std::enable_shared_from_this<RedisAdapter> {
 public:
  // `emitter_wire`: with a sharded wire, the classic one @socket.io/redis-emitter still speaks
  // (classic pub/sub reaches every node of a Redis Cluster); taken in, never answered on.
  RedisAdapter(Cluster& cluster, socketio::Namespace& nsp, std::unique_ptr<Wire> wire,
               std::unique_ptr<Wire> emitter_wire = nullptr);

  // ---- RemoteAdapter (any loop) ----
  void broadcast(const socketio::Packet& packet, const socketio::Target& target, const socketio::Stamp* stamp) override;
  void broadcast_with_ack(const socketio::Packet& packet, const socketio::Target& target,
                          std::chrono::milliseconds timeout,
                          std::shared_ptr<socketio::BroadcastAckHandlers> handlers) override;
  void sockets_join(const socketio::Target& target, const std::vector<std::string>& rooms) override;
  void sockets_leave(const socketio::Target& target, const std::vector<std::string>& rooms) override;
  void disconnect_sockets(const socketio::Target& target, bool close) override;
  void fetch_sockets(const socketio::Target& target,
                     std::function<void(std::vector<socketio::SocketInfo>& sockets, bool complete)> done) override;
  void server_side_emit(const socketio::Json& data) override;
  void server_side_emit_with_ack(
      const socketio::Json& data, std::chrono::milliseconds timeout,
      std::function<void(std::vector<socketio::Json>& replies, bool complete)> done) override;
  bool reachable() const override;
  void room_opened(const std::string& room) override;
  void room_closed(const std::string& room) override;

  // ---- subscriptions and messages (Redis loop) ----
  const Wire& wire() const { return *wire_; }
  const Wire* emitter_wire() const { return emitter_wire_.get(); }
  bool owns(std::string_view channel) const {
    return wire_->owns(channel) || (emitter_wire_ && emitter_wire_->owns(channel));
  }
  // `by_pattern`: it came through a pattern subscription (classic broadcasts).
  void receive(std::string_view channel, std::string_view payload, bool by_pattern);
  // Each time Redis is reached: the broadcasts of the window this node may not have logged.
  void read_recovery_history();
  // Counts the servers of the namespace (this one included): every master's subscribers to the
  // request channel (a Redis Cluster counts sharded subscribers per node).
  void server_count(std::function<void(size_t count, bool ok)> done);

 private:
  // Publishes a request or broadcast from any loop.
  void publish(const Body& body);
  // Redis loop.
  void send(const Outgoing& outgoing);
  void answer(const std::string& requester, const Body& body);
  // Redis loop: publishes `request` with a fresh request id once the other servers are counted,
  // and gathers their answers; `done` runs on the Redis loop (at once, with none, when there are
  // no others).
  void gather(Body request, std::chrono::milliseconds timeout, Gatherings::Gathering gathering);
  socketio::Target target_of(const TargetSpec& spec) const;
  // The classic wire: the recovery stream keeps classic broadcast messages, whatever the wire.
  const Wire& classic_wire() const { return emitter_wire_ ? *emitter_wire_ : *wire_; }

  // ---- what other nodes ask (Redis loop) ----
  void handle(const std::string& sender, msg::Broadcast& broadcast);
  void handle(const std::string& sender, msg::BroadcastWithAck& broadcast);
  void handle(const std::string& sender, msg::RoomChange& change);
  void handle(const std::string& sender, msg::Disconnect& disconnect);
  void handle(const std::string& sender, msg::FetchSockets& fetch);
  void handle(const std::string& sender, msg::AllRooms& request);
  void handle(const std::string& sender, msg::ServerSideEmit& emit);

  Cluster& cluster_;
  socketio::Namespace& nsp_;
  std::unique_ptr<Wire> wire_;
  std::unique_ptr<Wire> emitter_wire_;
  std::unique_ptr<RecoveryStream> stream_;  // with connection state recovery only
  AckWaiters ack_waiters_;
  std::shared_ptr<Gatherings> gatherings_;
  // Sharded: the room channels subscribed to, with the number of loops that have the room.
  std::unordered_map<std::string, size_t> room_loops_;
};

}  // namespace herald::cluster
