// LoopSockets: a namespace's sockets and rooms on each loop, the room-to-loops index, and the
// sockets held after coming back from another node.
#include "socketio/loop_sockets.hpp"

#include <algorithm>
#include <bit>
#include <string_view>
#include <unordered_set>

#include "net/loop_pool.hpp"
#include "socketio/namespace.hpp"
#include "socketio/observer.hpp"
#include "socketio/server.hpp"
#include "socketio/socket.hpp"

namespace herald::socketio {

// ---- LoopSockets::RoomMembers ----

void LoopSockets::RoomMembers::insert(Socket* socket) {
  if (many_) {
    many_->insert(socket);
  } else if (!single_) {
    single_ = socket;
  } else if (single_ != socket) {
    many_ = std::make_unique<std::unordered_set<Socket*>>(std::initializer_list<Socket*>{single_, socket});
    single_ = nullptr;
  }
}

void LoopSockets::RoomMembers::erase(Socket* socket) {
  if (single_ == socket) single_ = nullptr;
  if (!many_) return;
  many_->erase(socket);
  if (many_->empty()) many_.reset();
}

// ---- LoopSockets ----

struct LoopSockets::Local {
  // Keyed by a view of the socket's own id (no copy of the id per socket).
  std::unordered_map<std::string_view, std::shared_ptr<Socket>> sockets;
  std::unordered_map<std::string, RoomMembers> rooms;
  // Sockets that came back with a pid this node could not restore (by socket id), until they
  // settle here (see Namespace::settle_came_back).
  std::unordered_map<std::string, CameBack> came_back;
};

LoopSockets::LoopSockets(Namespace& nsp, size_t loops) : nsp_(nsp), loop_count_(loops), locals_(loops) {}

LoopSockets::~LoopSockets() = default;

size_t LoopSockets::local_count(size_t loop) const { return locals_[loop].sockets.size(); }

bool LoopSockets::selects(const Target& target, const Socket& socket) {
  auto in = [&socket](const std::string& room) { return room == socket.id() || socket.in_room(room); };
  if (!target.rooms.empty() && std::none_of(target.rooms.begin(), target.rooms.end(), in)) return false;
  if (std::any_of(target.except.begin(), target.except.end(), in)) return false;
  return !target.filter || target.filter(socket);
}

std::vector<Socket*> LoopSockets::select(size_t loop, const Target& target) {
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

uint64_t LoopSockets::every_loop() const {
  return locals_.size() >= 64 ? ~uint64_t{0} : (uint64_t{1} << locals_.size()) - 1;
}

uint64_t LoopSockets::loops_of(const Target& target) const {
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

void LoopSockets::for_each_loop_of(uint64_t loops, Target target,
                                   std::function<void(const std::vector<Socket*>&)> work) {
  // Every loop, also beyond the mask's 64 bits.
  if (loops == every_loop()) return for_each_loop(std::move(target), std::move(work));
  post_selecting(loops, false, std::move(target), std::move(work));
}

void LoopSockets::for_each_loop(Target target, std::function<void(const std::vector<Socket*>&)> work) {
  post_selecting(0, true, std::move(target), std::move(work));
}

void LoopSockets::post_selecting(uint64_t loops, bool every, Target target,
                                 std::function<void(const std::vector<Socket*>&)> work) {
  auto& pool = nsp_.server().pool();
  auto wanted = [loops, every](size_t loop) { return every || (loops & (uint64_t{1} << loop)) != 0; };
  size_t count = every ? locals_.size() : static_cast<size_t>(std::popcount(loops));
  if (count == 1) {  // one loop (a push to one user, a server of one loop): nothing to share
    size_t loop = 0;
    while (!wanted(loop)) ++loop;
    pool.post(loop, [this, loop, target = std::move(target), work = std::move(work)] { work(select(loop, target)); });
    return;
  }
  auto shared = std::make_shared<std::pair<Target, std::function<void(const std::vector<Socket*>&)>>>(std::move(target),
                                                                                                      std::move(work));
  for (size_t loop = 0; loop < locals_.size(); ++loop)
    if (wanted(loop)) pool.post(loop, [this, shared, loop] { shared->second(select(loop, shared->first)); });
}

size_t LoopSockets::origin_loop() {
  size_t current = net::LoopPool::current();
  return current == net::LoopPool::kNoLoop ? 0 : current;
}

void LoopSockets::post_to_loop(size_t loop, std::function<void()> work) {
  nsp_.server().pool().post(loop, std::move(work));
}

void LoopSockets::hold_came_back(const Socket& socket, CameBack came_back) {
  locals_[socket.loop()].came_back.insert_or_assign(socket.id(), std::move(came_back));
}

void LoopSockets::wait_for_rooms(const Socket& socket) {
  auto& held = locals_[socket.loop()].came_back;
  if (auto found = held.find(socket.id()); found != held.end()) found->second.waiting_for_rooms = true;
}

void LoopSockets::sent_live(const Socket& socket, uint64_t seq) {
  auto& held = locals_[socket.loop()].came_back;
  if (auto found = held.find(socket.id()); found != held.end()) found->second.sent_live.push_back(seq);
}

std::optional<CameBack> LoopSockets::take_came_back(const Socket& socket, bool rooms_ready) {
  auto& held = locals_[socket.loop()].came_back;
  auto found = held.find(socket.id());
  if (found == held.end() || (found->second.waiting_for_rooms && !rooms_ready)) return std::nullopt;
  CameBack came_back = std::move(found->second);
  held.erase(found);
  return came_back;
}

void LoopSockets::add(const std::shared_ptr<Socket>& socket) {
  auto& sockets = locals_[socket->loop()].sockets;
  // A key is a view of its socket's id: replacing only the value would leave it viewing a freed id.
  if (auto found = sockets.find(socket->id()); found != sockets.end()) sockets.erase(found);
  sockets.emplace(socket->id(), socket);
}

void LoopSockets::remove(Socket& socket) {
  Local& local = locals_[socket.loop()];
  ServerObserver* observer = nsp_.server().observer();
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

LoopSockets::RoomMembers& LoopSockets::open_room(Local& local, const std::string& room) {
  auto [found, opened] = local.rooms.try_emplace(room);
  if (opened) {
    if (auto loop = static_cast<size_t>(&local - locals_.data()); loop < 64) {
      std::lock_guard lock(room_loops_mutex_);
      room_loops_[room] |= uint64_t{1} << loop;
    }
    if (RemoteAdapter* adapter = nsp_.cluster_side().adapter()) adapter->room_opened(room);
  }
  return found->second;
}

void LoopSockets::close_room(Local& local, std::unordered_map<std::string, RoomMembers>::iterator room) {
  if (RemoteAdapter* adapter = nsp_.cluster_side().adapter()) adapter->room_closed(room->first);
  if (auto loop = static_cast<size_t>(&local - locals_.data()); loop < 64) {
    std::lock_guard lock(room_loops_mutex_);
    if (auto found = room_loops_.find(room->first); found != room_loops_.end()) {
      found->second &= ~(uint64_t{1} << loop);
      if (found->second == 0) room_loops_.erase(found);
    }
  }
  local.rooms.erase(room);
}

void LoopSockets::join(Socket& socket, const std::string& room) {
  if (room == socket.id() || socket.in_room(room)) return;
  socket.room_list().push_back(room);
  open_room(locals_[socket.loop()], room).insert(&socket);
  if (ServerObserver* observer = nsp_.server().observer()) observer->room_joined(socket, room);
}

void LoopSockets::leave(Socket& socket, const std::string& room) {
  auto& rooms = socket.room_list();
  auto it = std::find(rooms.begin(), rooms.end(), room);
  if (it == rooms.end()) return;
  rooms.erase(it);
  if (ServerObserver* observer = nsp_.server().observer()) observer->room_left(socket, room);
  Local& local = locals_[socket.loop()];
  auto found = local.rooms.find(room);
  if (found == local.rooms.end()) return;
  found->second.erase(&socket);
  if (found->second.empty()) close_room(local, found);
}

// A few rooms go one by one; more are checked against a hash set, so that a changeRoom of thousands
// of rooms is not quadratic in them.
constexpr size_t kRoomsByHash = 16;

void LoopSockets::join(Socket& socket, const std::vector<std::string>& rooms) {
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
  ServerObserver* observer = nsp_.server().observer();
  for (const auto& room : rooms) {
    if (!have.insert(room).second) continue;
    list.push_back(room);
    open_room(local, room).insert(&socket);
    if (observer) observer->room_joined(socket, room);
  }
}

void LoopSockets::leave(Socket& socket, const std::vector<std::string>& rooms) {
  auto& list = socket.room_list();
  if (list.size() + rooms.size() < kRoomsByHash) {
    for (const auto& room : rooms) leave(socket, room);
    return;
  }
  std::unordered_set<std::string_view> gone(rooms.begin(), rooms.end());
  Local& local = locals_[socket.loop()];
  ServerObserver* observer = nsp_.server().observer();
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

}  // namespace herald::socketio
