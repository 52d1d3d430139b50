// Namespace: the application's handlers and server-side events, the came-back sockets it settles,
// and its ClusterSide (targets and server-side events from other nodes).
#include "socketio/namespace.hpp"

#include <string_view>

#include "socketio/catch_up.hpp"
#include "socketio/observer.hpp"
#include "socketio/recovery.hpp"
#include "socketio/server.hpp"
#include "socketio/socket.hpp"

namespace herald::socketio {

namespace {

// Server-side event by which a node that could not recover a pid tells the node that made it.
constexpr const char* kForgetSession = "herald:forgetSession";

}  // namespace

Namespace::Namespace(Server& server, std::string name, size_t loops)
    : server_(server), name_(std::move(name)), sockets_(*this, loops) {
  const auto& recovery = server.config().recovery;
  if (recovery.window.count() > 0) recovery_ = std::make_unique<Recovery>(recovery);
  if (recovery_) {
    // A client came back on another node with a pid of this one: its session here is stale (a
    // later push must not be kept for it as for a user who is away).
    on_server_side(kForgetSession, [this](Json& args, const ServerSideReply& reply) {
      if (!args.empty() && args[0].is_string()) recovery_->forget(args[0].get<std::string>());
      if (reply) reply(nullptr);
    });
  }
}

Namespace::~Namespace() = default;

void Namespace::without_recovery() {
  recovery_.reset();
  server_side_handlers_.erase(kForgetSession);
}

const EventHandler* Namespace::handler(std::string_view event) const {
  auto found = handlers_.find(std::string(event));
  return found == handlers_.end() ? nullptr : &found->second;
}

void Namespace::hold_came_back(Socket& socket, CameBack came_back) {
  if (!recovery_) return;
  socket.set_catching_up(true);
  sockets_.hold_came_back(socket, std::move(came_back));
}

void Namespace::wait_for_rooms(const Socket& socket) {
  if (!socket.catching_up()) return;  // nearly always
  sockets_.wait_for_rooms(socket);
}

void Namespace::settle_came_back(Socket& socket, bool rooms_ready) {
  if (!socket.catching_up()) return;  // nearly always: the cost on every event is this check
  std::optional<CameBack> came_back = sockets_.take_came_back(socket, rooms_ready);
  if (!came_back) return;
  socket.set_catching_up(false);
  if (socket.connected() && came_back->offset) catch_up(*recovery_, socket, *came_back);
  if (!came_back->pid.empty()) server_side_emit(Json::array({kForgetSession, std::move(came_back->pid)}));
}

void Namespace::server_side_emit_with_ack(const Json& data, std::chrono::milliseconds timeout,
                                          std::function<void(std::vector<Json>& replies, bool complete)> done) {
  if (!adapter_) {
    std::vector<Json> none;
    return done(none, true);
  }
  adapter_->server_side_emit_with_ack(data, timeout, std::move(done));
}

void Namespace::connected(const std::shared_ptr<Socket>& socket) {
  // Told first, as socket.io's admin listener runs before the application's.
  if (ServerObserver* observer = server_.observer()) observer->socket_connected(*socket);
  if (on_connection_) on_connection_(socket);
}

void Namespace::disconnected(Socket& socket, DisconnectReason reason) {
  if (ServerObserver* observer = server_.observer()) observer->socket_disconnected(socket, reason);
  if (on_disconnect_) on_disconnect_(socket, reason);
}

// ---- Namespace::ClusterSide ----

Target Namespace::ClusterSide::remote_target(std::vector<std::string> rooms, std::vector<std::string> except,
                                             Json flags) const {
  Target target{std::move(rooms), std::move(except), {}, std::move(flags)};
  if (nsp_.filter_factory_ && target.flags.is_object() && !target.flags.empty())
    target.filter = nsp_.filter_factory_(target.flags, target.rooms);
  return target;
}

bool Namespace::ClusterSide::server_side_received(Json& data, ServerSideReply reply) {
  // An event nobody here handles is still answered (null), so a sender waiting for every node's
  // reply is not kept waiting by this one.
  auto& handlers = nsp_.server_side_handlers_;
  auto found = data.is_array() && !data.empty() && data[0].is_string() ? handlers.find(data[0].get<std::string>())
                                                                       : handlers.end();
  if (found == handlers.end()) {
    if (reply) reply(nullptr);
    return false;
  }
  Json args = Json::array();
  for (size_t i = 1; i < data.size(); ++i) args.push_back(std::move(data[i]));
  found->second(args, std::move(reply));
  return true;
}

}  // namespace herald::socketio
