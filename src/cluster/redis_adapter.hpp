// One namespace's side of the cluster, wire-compatible with @socket.io/redis-adapter (classic
// pub/sub) and @socket.io/redis-emitter, so Node servers, Node emitters and Herald nodes share a
// cluster. Channels (prefix "socket.io"): broadcasts on `<prefix>#<nsp>#` and
// `<prefix>#<nsp>#<room>#` (msgpack [uid, packet, opts]); requests on `<prefix>-request#<nsp>#`
// and responses on `<prefix>-response#<nsp>#` (JSON, or msgpack when not starting with '{').
// Herald adds fields Node ignores: `herald` in responses (who acked, whom a broadcast reached)
// and `heraldFilter` in opts.flags (push filters). All state lives on the Redis loop.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <unordered_map>

#include "socketio/adapter.hpp"
#include "socketio/namespace.hpp"

namespace herald::cluster {

class Cluster;

// Request types of @socket.io/redis-adapter.
enum class RequestType : int {
  Sockets = 0,
  AllRooms = 1,
  RemoteJoin = 2,
  RemoteLeave = 3,
  RemoteDisconnect = 4,
  RemoteFetch = 5,
  ServerSideEmit = 6,
  Broadcast = 7,
  BroadcastClientCount = 8,
  BroadcastAck = 9,
};

class RedisAdapter : public socketio::RemoteAdapter, public std::enable_shared_from_this<RedisAdapter> {
 public:
  RedisAdapter(Cluster& cluster, socketio::Namespace& nsp);

  // ---- RemoteAdapter (any loop) ----
  void broadcast(const socketio::Packet& packet, const socketio::Target& target) override;
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

  // ---- subscriptions (Redis loop) ----
  std::vector<std::string> channels() const;
  std::string pattern() const { return channel_ + "*"; }
  const std::string& request_channel() const { return request_channel_; }
  bool owns(std::string_view channel) const;
  void on_broadcast(std::string_view channel, std::string_view payload);
  void on_request_or_response(std::string_view channel, std::string_view payload);

 private:
  struct AckRequest {
    std::shared_ptr<socketio::BroadcastAckHandlers> handlers;
    size_t origin;
    std::chrono::steady_clock::time_point expires;
  };
  // A request every other server answers once (fetchSockets, serverSideEmit with ack): their
  // responses are gathered until all have come or the timeout ends.
  using GatherDone = std::function<void(std::vector<socketio::Json>& responses, bool complete)>;
  struct Gathering {
    const char* what;   // for the log
    int response_type;  // the responses' `type`, or -1 when they carry none
    std::vector<socketio::Json> responses;
    size_t awaiting = 0;
    GatherDone done;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  // Publishes a request (JSON) on the request channel, from any loop.
  void publish_request(const socketio::Json& request);
  void on_request(socketio::Json& request);
  void on_response(socketio::Json& response);
  void answer(const socketio::Json& request, const socketio::Json& response, bool msgpack = false);
  void room_request(const socketio::Json& request, RequestType type);
  void fetch_request(const socketio::Json& request);
  void ack_broadcast_request(socketio::Json& request);
  void server_side_request(socketio::Json& request);
  // Redis loop: publishes `request` with a fresh requestId and gathers the other servers'
  // responses; `done` runs on the Redis loop (at once, with none, when there are no others).
  void gather(socketio::Json request, std::chrono::milliseconds timeout, Gathering gathering);
  void finish_gathering(const std::string& request_id, bool complete);
  void drop_expired_acks();
  // Counts the servers subscribed to the request channel (this one included).
  void server_count(std::function<void(size_t count, bool ok)> done);
  socketio::Json opts_json(const socketio::Target& target) const;
  socketio::Target target_from(const socketio::Json& opts) const;

  Cluster& cluster_;
  socketio::Namespace& nsp_;
  std::string channel_;
  std::string request_channel_;
  std::string response_channel_;
  std::string specific_response_channel_;
  std::unordered_map<std::string, AckRequest> ack_requests_;
  std::unordered_map<std::string, std::shared_ptr<Gathering>> gatherings_;
};

// Socket.IO packets as the Node adapter carries them: {type, data, nsp[, id]}.
socketio::Json packet_to_json(const socketio::Packet& packet);
std::optional<socketio::Packet> packet_from_json(const socketio::Json& json);

}  // namespace herald::cluster
