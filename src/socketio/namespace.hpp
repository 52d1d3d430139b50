// A Socket.IO namespace: its handlers, and per loop the sockets connected to it and their rooms.
// Broadcasts are encoded once and posted to every loop, which sends the same bytes to its members.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engineio/packet.hpp"
#include "socketio/types.hpp"

namespace herald::net {
class LoopPool;
}

namespace herald::socketio {

class Server;
class Namespace;

// Which sockets a broadcast reaches: members of any of `rooms` (all sockets when empty), minus
// members of `except`. A socket's id works as a room holding only that socket.
struct Target {
  std::vector<std::string> rooms;
  std::vector<std::string> except;
};

using SharedPackets = std::shared_ptr<const std::vector<engineio::OutPacket>>;

// Encodes a Socket.IO packet into the Engine.IO packets that carry it (text, then attachments).
SharedPackets to_engine_packets(const Packet& packet);

class Broadcast {
 public:
  explicit Broadcast(Namespace& nsp, Target target = {}) : nsp_(nsp), target_(std::move(target)) {}
  Broadcast& to(std::string room);
  Broadcast& except(std::string room);
  // Sends to every targeted socket on every loop. Callable from any thread.
  void emit(std::string_view event, Json args = Json::array());
  void sockets_join(std::string room);
  void sockets_leave(std::string room);
  void disconnect_sockets(bool close = false);

 private:
  Namespace& nsp_;
  Target target_;
};

class Namespace {
 public:
  Namespace(Server& server, std::string name, size_t loops);
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

  const std::string& name() const { return name_; }
  Server& server() { return server_; }

  // Set these before the server starts; they run on the socket's loop.
  void on_connection(ConnectionHandler handler) { on_connection_ = std::move(handler); }
  void use(Middleware middleware) { middlewares_.push_back(std::move(middleware)); }
  // A handler for an event from any socket of the namespace (cheaper than one per socket).
  void on(std::string event, EventHandler handler) { handlers_[std::move(event)] = std::move(handler); }

  Broadcast to(std::string room) { return Broadcast(*this, Target{{std::move(room)}, {}}); }
  Broadcast except(std::string room) { return Broadcast(*this, Target{{}, {std::move(room)}}); }
  void emit(std::string_view event, Json args = Json::array()) { Broadcast(*this).emit(event, std::move(args)); }

  // ---- per-loop state, used on that loop only ----
  struct Local {
    std::unordered_map<std::string, std::shared_ptr<Socket>> sockets;
    std::unordered_map<std::string, std::unordered_set<Socket*>> rooms;
  };
  Local& local(size_t loop) { return locals_[loop]; }
  size_t local_count(size_t loop) const { return locals_[loop].sockets.size(); }

  // Sockets on `loop` that `target` selects.
  std::vector<Socket*> select(size_t loop, const Target& target);
  // Runs `work` on every loop with the sockets `target` selects there.
  void for_each_loop(Target target, std::function<void(const std::vector<Socket*>&)> work);

  // ---- used by Client and Socket ----
  const std::vector<Middleware>& middlewares() const { return middlewares_; }
  const EventHandler* handler(std::string_view event) const;
  void add(const std::shared_ptr<Socket>& socket);
  void remove(Socket& socket);
  void join(Socket& socket, const std::string& room);
  void leave(Socket& socket, const std::string& room);
  void connected(const std::shared_ptr<Socket>& socket);

 private:
  Server& server_;
  std::string name_;
  ConnectionHandler on_connection_;
  std::vector<Middleware> middlewares_;
  std::unordered_map<std::string, EventHandler> handlers_;
  std::vector<Local> locals_;
};

}  // namespace herald::socketio
