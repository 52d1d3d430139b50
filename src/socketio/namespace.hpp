// A Socket.IO namespace as applications use it: its handlers, middlewares, broadcasts and
// server-side events. Its sockets and rooms on each loop are its LoopSockets'; what the cluster
// reaches is Namespace::ClusterSide. Broadcasts are encoded once per Engine.IO protocol and posted
// to every loop, which sends the same bytes to its members.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engineio/packet.hpp"
#include "net/loop_pool.hpp"
#include "socketio/adapter.hpp"
#include "socketio/engine_packets.hpp"
#include "socketio/loop_sockets.hpp"
#include "socketio/recovery_offset.hpp"
#include "socketio/socket_data.hpp"
#include "socketio/types.hpp"

namespace herald::net {
class LoopPool;
}

namespace herald::socketio {

class Server;
class Namespace;
class Recovery;

// Which sockets a broadcast reaches: members of any of `rooms` (all sockets when empty), minus
// members of `except`. A socket's id works as a room holding only that socket.
struct Target {
  std::vector<std::string> rooms;
  std::vector<std::string> except;
  // Optional: only sockets it accepts (runs on each socket's loop).
  std::function<bool(const Socket&)> filter;
  // Carried to other nodes with the broadcast; a filter factory (Namespace::ClusterSide::set_filter_factory)
  // turns it back into `filter` there. Other implementations ignore it.
  Json flags = Json::object();
};

// A socket as reported to the loop that started a broadcast: its id, its attached data (shared)
// and a copy of its `data`.
struct SocketInfo {
  std::string id;
  SocketDataPtr attached;  // Socket::attached(); null when none
  Json data;
  // Filled by fetch_sockets only: the rooms (with the socket's own id) and the handshake.
  std::vector<std::string> rooms = {};
  Json handshake = nullptr;
};

// Progress of a broadcast with acknowledgements, reported on the loop that started it.
struct BroadcastAckHandlers {
  // Once per loop, before any ack from that loop: the sockets the broadcast reached there.
  std::function<void(const std::vector<SocketInfo>& reached)> on_reached;
  // Once per client acknowledgement; `socket` is one of those reported reached.
  std::function<void(const SocketInfo& socket, Json& args)> on_ack;
  // A socket reached on this node closed without acknowledging (optional).
  std::function<void(const SocketInfo& socket)> on_dropped;
  // Exactly once: how many other nodes will report (0 without a cluster), and whether the cluster
  // could be reached at all (false: only this node was reached).
  std::function<void(size_t nodes, bool reachable)> on_remote_nodes;
  // Before another node's on_reached: the node that counted, when it names itself (optional).
  std::function<void(const std::string& node)> on_node_counted;
};

// A socket that came back with a pid this node could not restore (see Namespace::hold_came_back).
struct CameBack {
  std::string pid;                       // another node's: that node drops its session for it when this socket settles
  std::optional<RecoveryOffset> offset;  // what it had; nothing to replay without one
  std::vector<uint64_t> sent_live;       // log positions it was sent since it connected here
  bool waiting_for_rooms = false;
};

class Broadcast {
 public:
  explicit Broadcast(Namespace& nsp, Target target = {}) : nsp_(nsp), target_(std::move(target)) {}
  Broadcast& to(std::string room);
  Broadcast& except(std::string room);
  // This node only: not forwarded to the other nodes of a cluster.
  Broadcast& local() {
    local_ = true;
    return *this;
  }
  // A broadcast from another node: its stamp there (null when it came without one), under which
  // the recovery log keeps it.
  Broadcast& from_other_node(const Stamp* stamp) {
    if (stamp) stamp_ = *stamp;
    unstamped_ = !stamp;
    return *this;
  }
  // The emits below take the target with them: a Broadcast emits once (room changes, disconnects
  // and fetches may come before).
  // Sends an already built packet (used for packets that come from other nodes).
  void emit_packet(Packet packet);
  void emit_packet_with_ack(Packet packet, std::chrono::milliseconds timeout, BroadcastAckHandlers handlers);
  // Sends to every targeted socket on every loop. Callable from any thread.
  void emit(std::string_view event, Json args = Json::array());
  // Sends with an acknowledgement request (one encoding, one ack id for all). Each loop reports the
  // sockets it reached, then each ack as it arrives, to `handlers` on the calling loop. Sockets
  // stop expecting the ack after `timeout`; the caller decides when it has waited enough.
  void emit_with_ack(std::string_view event, Json args, std::chrono::milliseconds timeout,
                     BroadcastAckHandlers handlers);
  void sockets_join(std::string room);
  void sockets_leave(std::string room);
  void disconnect_sockets(bool close = false);
  // The sockets targeted on every node; `done` runs on the calling loop.
  void fetch_sockets(std::function<void(std::vector<SocketInfo>& sockets, bool complete)> done);

 private:
  void change_rooms(std::vector<std::string> rooms, bool join);

  Namespace& nsp_;
  Target target_;
  bool local_ = false;
  bool unstamped_ = false;
  std::optional<Stamp> stamp_;
};

class Namespace {
 public:
  Namespace(Server& server, std::string name, size_t loops);
  ~Namespace();
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

  const std::string& name() const { return name_; }
  Server& server() { return server_; }

  // Set these before the server starts; they run on the socket's loop.
  void on_connection(ConnectionHandler handler) { on_connection_ = std::move(handler); }
  // Runs when any socket of the namespace disconnects (cheaper than a handler per socket).
  void on_disconnect(DisconnectHandler handler) { on_disconnect_ = std::move(handler); }
  void use(Middleware middleware) { middlewares_.push_back(std::move(middleware)); }
  // One middleware that answers later; it runs after the others have accepted.
  void use_async(AsyncMiddleware middleware) { async_middleware_ = std::move(middleware); }
  // A handler for an event from any socket of the namespace (cheaper than one per socket).
  void on(std::string event, EventHandler handler) { handlers_[std::move(event)] = std::move(handler); }

  Broadcast to(std::string room) { return Broadcast(*this, Target{{std::move(room)}, {}, {}, Json::object()}); }
  Broadcast except(std::string room) { return Broadcast(*this, Target{{}, {std::move(room)}, {}, Json::object()}); }
  void emit(std::string_view event, Json args = Json::array()) { Broadcast(*this).emit(event, std::move(args)); }

  // Server-side events (Node's serverSideEmit): run for events from other nodes. When the sender
  // asked for acknowledgements `reply` is set, and the handler must call it once, from any thread.
  using ServerSideReply = std::function<void(Json)>;
  using ServerSideHandler = std::function<void(Json& args, ServerSideReply reply)>;
  void on_server_side(std::string event, ServerSideHandler handler) {
    server_side_handlers_[std::move(event)] = std::move(handler);
  }
  void server_side_emit(const Json& data) {
    if (adapter_) adapter_->server_side_emit(data);
  }
  // As server_side_emit, then `done` gets every other node's reply on the calling loop; `complete`
  // is false when some node did not answer within `timeout` (or the cluster is unreachable).
  void server_side_emit_with_ack(const Json& data, std::chrono::milliseconds timeout,
                                 std::function<void(std::vector<Json>& replies, bool complete)> done);

  // Turns connection state recovery off for this namespace (before the loops run): for one whose
  // broadcasts are not worth replaying, such as the Admin UI's.
  void without_recovery();
  // On the socket's loop. A socket that came with a pid this node could not restore (another
  // node's, after a reconnect through a balancer or its node's death) is held until it settles
  // here: its first event has been handled, the application says so (a login), or it closes.
  // - The other node keeps its session until then, so it still counts its user as away (a push
  //   meant for it is kept) and nothing slips between.
  // - When it settles, it is sent the broadcasts it missed (after its offset) that its rooms then
  //   select, which it was not sent live since it connected here.
  // An application that joins its rooms later than the socket's first event (from a lookup) says
  // so with wait_for_rooms, and settles it itself.
  void wait_for_rooms(const Socket& socket);
  void settle_came_back(Socket& socket, bool rooms_ready = false);

  // The sockets on each loop: the number per loop, and work run on every loop with the sockets a
  // Target selects there (loop_sockets.hpp).
  LoopSockets& sockets() { return sockets_; }

  // What the server's cluster and push layers reach beneath this API; not for applications.
  class ClusterSide;
  ClusterSide cluster_side();

 private:
  // Client connects and disconnects sockets; Socket looks up the namespace's handlers.
  friend class Client;
  friend class Socket;

  const std::vector<Middleware>& middlewares() const { return middlewares_; }
  const AsyncMiddleware& async_middleware() const { return async_middleware_; }
  const EventHandler* handler(std::string_view event) const;
  // Holds a socket that came back with a pid this node could not restore (see settle_came_back).
  void hold_came_back(Socket& socket, CameBack came_back);
  void connected(const std::shared_ptr<Socket>& socket);
  void disconnected(Socket& socket, DisconnectReason reason);

  // Set through ClusterSide.
  using FilterFactory =
      std::function<std::function<bool(const Socket&)>(const Json& flags, const std::vector<std::string>& rooms)>;

  Server& server_;
  std::string name_;
  ConnectionHandler on_connection_;
  DisconnectHandler on_disconnect_;
  std::vector<Middleware> middlewares_;
  AsyncMiddleware async_middleware_;
  std::unordered_map<std::string, EventHandler> handlers_;
  std::unordered_map<std::string, ServerSideHandler> server_side_handlers_;
  LoopSockets sockets_;
  std::shared_ptr<RemoteAdapter> adapter_;
  FilterFactory filter_factory_;
  std::unique_ptr<Recovery> recovery_;
};

// A namespace's seam to the server's cluster and push layers (and the library's own classes): the
// adapter that carries its operations to other nodes, what comes in from them, and its recovery
// log. A view: cheap to take, valid while the namespace lives.
class Namespace::ClusterSide {
 public:
  explicit ClusterSide(Namespace& nsp) : nsp_(nsp) {}

  // Set before the loops run.
  void set_adapter(std::shared_ptr<RemoteAdapter> adapter) { nsp_.adapter_ = std::move(adapter); }
  RemoteAdapter* adapter() const { return nsp_.adapter_.get(); }
  // Turns a Target's flags from another node back into its filter.
  using FilterFactory = Namespace::FilterFactory;
  void set_filter_factory(FilterFactory factory) { nsp_.filter_factory_ = std::move(factory); }
  // Rebuilds a target that came from another node.
  Target remote_target(std::vector<std::string> rooms, std::vector<std::string> except, Json flags) const;
  // A server-side event from another node, run by its handler (on_server_side). False when no
  // handler takes data[0]; `reply`, when set, is then answered with null.
  bool server_side_received(Json& data, ServerSideReply reply);
  // Connection state recovery; null when it is off.
  Recovery* recovery() const { return nsp_.recovery_.get(); }

 private:
  Namespace& nsp_;
};

inline Namespace::ClusterSide Namespace::cluster_side() { return ClusterSide(*this); }

}  // namespace herald::socketio
