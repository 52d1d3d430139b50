// The adapter seam: how a namespace's broadcasts and room operations reach the other nodes of a
// cluster (another Herald process, or a Node socket.io server sharing the Redis channels). A
// namespace without one is a single node. Local delivery is the namespace's own job; an adapter
// only carries operations to the other nodes, and brings theirs in through Broadcast::local().
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "socketio/packet.hpp"

namespace herald::socketio {

struct Target;
struct Stamp;
struct SocketInfo;
struct BroadcastAckHandlers;

class RemoteAdapter {
 public:
  virtual ~RemoteAdapter() = default;
  // `stamp`: its place in the recovery logs of every node (null when it is not replayable).
  virtual void broadcast(const Packet& packet, const Target& target, const Stamp* stamp) = 0;
  // Other nodes report their reach and their clients' acks to `handlers` on the calling loop;
  // handlers->on_remote_nodes says how many will report.
  virtual void broadcast_with_ack(const Packet& packet, const Target& target, std::chrono::milliseconds timeout,
                                  std::shared_ptr<BroadcastAckHandlers> handlers) = 0;
  virtual void sockets_join(const Target& target, const std::vector<std::string>& rooms) = 0;
  virtual void sockets_leave(const Target& target, const std::vector<std::string>& rooms) = 0;
  virtual void disconnect_sockets(const Target& target, bool close) = 0;
  // The sockets other nodes hold; `complete` is false if some node did not answer in time.
  virtual void fetch_sockets(const Target& target,
                             std::function<void(std::vector<SocketInfo>& sockets, bool complete)> done) = 0;
  // Runs the namespace's server-side handler for data[0] on every other node.
  virtual void server_side_emit(const Json& data) = 0;
  // The same, asking every other node for a reply; `done` runs on the calling loop.
  virtual void server_side_emit_with_ack(const Json& data, std::chrono::milliseconds timeout,
                                         std::function<void(std::vector<Json>& replies, bool complete)> done) = 0;
  // False while the other nodes cannot be reached (Redis down): operations reach this node only.
  virtual bool reachable() const = 0;
  // A room got its first socket on the calling loop, or lost its last one there (on that loop).
  // An adapter that subscribes per room (sharded pub/sub) follows these; others ignore them.
  virtual void room_opened(const std::string& /*room*/) {}
  virtual void room_closed(const std::string& /*room*/) {}
};

}  // namespace herald::socketio
