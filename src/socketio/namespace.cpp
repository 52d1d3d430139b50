#include "socketio/namespace.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "net/loop_pool.hpp"
#include "socketio/catch_up.hpp"
#include "socketio/recovery.hpp"
#include "socketio/server.hpp"
#include "socketio/socket.hpp"

namespace herald::socketio {

// ---- Namespace::RoomMembers ----

void Namespace::RoomMembers::insert(Socket* socket) {
  if (many_) {
    many_->insert(socket);
  } else if (!single_) {
    single_ = socket;
  } else if (single_ != socket) {
    many_ = std::make_unique<std::unordered_set<Socket*>>(std::initializer_list<Socket*>{single_, socket});
    single_ = nullptr;
  }
}

void Namespace::RoomMembers::erase(Socket* socket) {
  if (single_ == socket) single_ = nullptr;
  if (!many_) return;
  many_->erase(socket);
  if (many_->empty()) many_.reset();
}

// ---- Namespace ----

Namespace::Namespace(Server& server, std::string name, size_t loops)
    : server_(server), name_(std::move(name)), locals_(loops) {
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

bool Namespace::selects(const Target& target, const Socket& socket) {
  auto in = [&socket](const std::string& room) { return room == socket.id() || socket.in_room(room); };
  if (!target.rooms.empty() && std::none_of(target.rooms.begin(), target.rooms.end(), in)) return false;
  if (std::any_of(target.except.begin(), target.except.end(), in)) return false;
  return !target.filter || target.filter(socket);
}

const EventHandler* Namespace::handler(std::string_view event) const {
  auto found = handlers_.find(std::string(event));
  return found == handlers_.end() ? nullptr : &found->second;
}

std::vector<Socket*> Namespace::select(size_t loop, const Target& target) {
  net::assert_on_loop(loop);
  Local& local = locals_[loop];
  std::vector<Socket*> selected;
  auto excluded = [&](Socket* socket) {
    if (target.filter && !target.filter(*socket)) return true;
    for (const auto& room : target.except)
      if (room == socket->id() || socket->in_room(room)) return true;
    return false;
  };
  if (target.rooms.empty()) {
    selected.reserve(local.sockets.size());
    for (auto& [id, socket] : local.sockets)
      if (!excluded(socket.get())) selected.push_back(socket.get());
    return selected;
  }
  std::unordered_set<Socket*> seen;
  auto consider = [&](Socket* socket) {
    if (excluded(socket)) return;
    if (target.rooms.size() == 1 || seen.insert(socket).second) selected.push_back(socket);
  };
  for (const auto& room : target.rooms) {
    if (auto found = local.rooms.find(room); found != local.rooms.end()) found->second.for_each(consider);
    if (auto found = local.sockets.find(room); found != local.sockets.end()) consider(found->second.get());
  }
  return selected;
}

uint64_t Namespace::every_loop() const {
  return locals_.size() >= 64 ? ~uint64_t{0} : (uint64_t{1} << locals_.size()) - 1;
}

uint64_t Namespace::loops_of(const Target& target) const {
  if (target.rooms.empty() || locals_.size() > 64) return every_loop();
  uint64_t loops = 0;
  std::lock_guard lock(room_loops_mutex_);
  for (const auto& room : target.rooms) {
    auto found = room_loops_.find(room);
    if (found == room_loops_.end()) return every_loop();
    loops |= found->second;
  }
  return loops;
}

void Namespace::for_each_loop_of(uint64_t loops, Target target, std::function<void(const std::vector<Socket*>&)> work) {
  if (loops == every_loop()) return for_each_loop(std::move(target), std::move(work));
  auto shared = std::make_shared<std::pair<Target, std::function<void(const std::vector<Socket*>&)>>>(std::move(target),
                                                                                                      std::move(work));
  for (size_t loop = 0; loop < locals_.size(); ++loop)
    if (loops & (uint64_t{1} << loop))
      server_.pool().post(loop, [this, shared, loop] { shared->second(select(loop, shared->first)); });
}

void Namespace::for_each_loop(Target target, std::function<void(const std::vector<Socket*>&)> work) {
  auto shared = std::make_shared<std::pair<Target, std::function<void(const std::vector<Socket*>&)>>>(std::move(target),
                                                                                                      std::move(work));
  server_.pool().post_all([this, shared](size_t loop) { shared->second(select(loop, shared->first)); });
}

Target Namespace::remote_target(std::vector<std::string> rooms, std::vector<std::string> except, Json flags) const {
  Target target{std::move(rooms), std::move(except), {}, std::move(flags)};
  if (filter_factory_ && target.flags.is_object() && !target.flags.empty())
    target.filter = filter_factory_(target.flags, target.rooms);
  return target;
}

void Namespace::hold_came_back(Socket& socket, CameBack came_back) {
  if (!recovery_) return;
  socket.set_catching_up(true);
  locals_[socket.loop()].came_back.insert_or_assign(socket.id(), std::move(came_back));
}

void Namespace::wait_for_rooms(const Socket& socket) {
  if (!socket.catching_up()) return;  // nearly always
  auto& held = locals_[socket.loop()].came_back;
  if (auto found = held.find(socket.id()); found != held.end()) found->second.waiting_for_rooms = true;
}

void Namespace::sent_live(const Socket& socket, uint64_t seq) {
  auto& held = locals_[socket.loop()].came_back;
  if (auto found = held.find(socket.id()); found != held.end()) found->second.sent_live.push_back(seq);
}

void Namespace::settle_came_back(Socket& socket, bool rooms_ready) {
  if (!socket.catching_up()) return;  // nearly always: the cost on every event is this check
  auto& held = locals_[socket.loop()].came_back;
  auto found = held.find(socket.id());
  if (found == held.end() || (found->second.waiting_for_rooms && !rooms_ready)) return;
  CameBack came_back = std::move(found->second);
  held.erase(found);
  socket.set_catching_up(false);
  if (socket.connected() && came_back.offset) catch_up(*recovery_, socket, came_back);
  if (!came_back.pid.empty()) server_side_emit(Json::array({kForgetSession, std::move(came_back.pid)}));
}

bool Namespace::server_side_received(Json& data, ServerSideReply reply) {
  // An event nobody here handles is still answered (null), so a sender waiting for every node's
  // reply is not kept waiting by this one.
  auto found = data.is_array() && !data.empty() && data[0].is_string()
                   ? server_side_handlers_.find(data[0].get<std::string>())
                   : server_side_handlers_.end();
  if (found == server_side_handlers_.end()) {
    if (reply) reply(nullptr);
    return false;
  }
  Json args = Json::array();
  for (size_t i = 1; i < data.size(); ++i) args.push_back(std::move(data[i]));
  found->second(args, std::move(reply));
  return true;
}

void Namespace::server_side_emit_with_ack(const Json& data, std::chrono::milliseconds timeout,
                                          std::function<void(std::vector<Json>& replies, bool complete)> done) {
  if (!adapter_) {
    std::vector<Json> none;
    return done(none, true);
  }
  adapter_->server_side_emit_with_ack(data, timeout, std::move(done));
}

size_t Namespace::origin_loop() {
  size_t current = net::LoopPool::current();
  return current == net::LoopPool::kNoLoop ? 0 : current;
}

void Namespace::post_to_loop(size_t loop, std::function<void()> work) { server_.pool().post(loop, std::move(work)); }

void Namespace::add(const std::shared_ptr<Socket>& socket) {
  auto& sockets = locals_[socket->loop()].sockets;
  // A key is a view of its socket's id: replacing only the value would leave it viewing a freed id.
  if (auto found = sockets.find(socket->id()); found != sockets.end()) sockets.erase(found);
  sockets.emplace(socket->id(), socket);
}

void Namespace::remove(Socket& socket) {
  Local& local = locals_[socket.loop()];
  ServerObserver* observer = server_.observer();
  for (const auto& room : socket.room_list()) {
    if (observer) observer->room_left(socket, room);
    auto found = local.rooms.find(room);
    if (found == local.rooms.end()) continue;
    found->second.erase(&socket);
    if (found->second.empty()) close_room(local, found);
  }
  socket.room_list().clear();
  // By iterator: erasing by key would compare against an id that the erase may free.
  if (auto found = local.sockets.find(socket.id()); found != local.sockets.end() && found->second.get() == &socket)
    local.sockets.erase(found);
}

Namespace::RoomMembers& Namespace::open_room(Local& local, const std::string& room) {
  auto [found, opened] = local.rooms.try_emplace(room);
  if (opened) {
    if (auto loop = static_cast<size_t>(&local - locals_.data()); loop < 64) {
      std::lock_guard lock(room_loops_mutex_);
      room_loops_[room] |= uint64_t{1} << loop;
    }
    if (adapter_) adapter_->room_opened(room);
  }
  return found->second;
}

void Namespace::close_room(Local& local, std::unordered_map<std::string, RoomMembers>::iterator room) {
  if (adapter_) adapter_->room_closed(room->first);
  if (auto loop = static_cast<size_t>(&local - locals_.data()); loop < 64) {
    std::lock_guard lock(room_loops_mutex_);
    if (auto found = room_loops_.find(room->first); found != room_loops_.end()) {
      found->second &= ~(uint64_t{1} << loop);
      if (found->second == 0) room_loops_.erase(found);
    }
  }
  local.rooms.erase(room);
}

void Namespace::join(Socket& socket, const std::string& room) {
  if (room == socket.id() || socket.in_room(room)) return;
  socket.room_list().push_back(room);
  open_room(locals_[socket.loop()], room).insert(&socket);
  if (ServerObserver* observer = server_.observer()) observer->room_joined(socket, room);
}

void Namespace::leave(Socket& socket, const std::string& room) {
  auto& rooms = socket.room_list();
  auto it = std::find(rooms.begin(), rooms.end(), room);
  if (it == rooms.end()) return;
  rooms.erase(it);
  if (ServerObserver* observer = server_.observer()) observer->room_left(socket, room);
  Local& local = locals_[socket.loop()];
  auto found = local.rooms.find(room);
  if (found == local.rooms.end()) return;
  found->second.erase(&socket);
  if (found->second.empty()) close_room(local, found);
}

// A few rooms go one by one; more are checked against a hash set, so that a changeRoom of thousands
// of rooms is not quadratic in them.
constexpr size_t kRoomsByHash = 16;

void Namespace::join(Socket& socket, const std::vector<std::string>& rooms) {
  auto& list = socket.room_list();
  if (list.size() + rooms.size() < kRoomsByHash) {
    for (const auto& room : rooms) join(socket, room);
    return;
  }
  // Reserved first, so the views of `list` in `have` stay valid while it grows.
  list.reserve(list.size() + rooms.size());
  std::unordered_set<std::string_view> have(list.begin(), list.end());
  have.insert(socket.id());
  Local& local = locals_[socket.loop()];
  ServerObserver* observer = server_.observer();
  for (const auto& room : rooms) {
    if (!have.insert(room).second) continue;
    list.push_back(room);
    open_room(local, room).insert(&socket);
    if (observer) observer->room_joined(socket, room);
  }
}

void Namespace::leave(Socket& socket, const std::vector<std::string>& rooms) {
  auto& list = socket.room_list();
  if (list.size() + rooms.size() < kRoomsByHash) {
    for (const auto& room : rooms) leave(socket, room);
    return;
  }
  std::unordered_set<std::string_view> gone(rooms.begin(), rooms.end());
  Local& local = locals_[socket.loop()];
  ServerObserver* observer = server_.observer();
  std::erase_if(list, [&](const std::string& room) {
    if (!gone.contains(room)) return false;
    if (observer) observer->room_left(socket, room);
    if (auto found = local.rooms.find(room); found != local.rooms.end()) {
      found->second.erase(&socket);
      if (found->second.empty()) close_room(local, found);
    }
    return true;
  });
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

}  // namespace herald::socketio
