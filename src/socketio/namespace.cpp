#include "socketio/namespace.hpp"

#include <algorithm>
#include <mutex>
#include <string_view>
#include <tuple>
#include <unordered_set>

#include "net/loop_pool.hpp"
#include "socketio/catch_up.hpp"
#include "socketio/recovery.hpp"
#include "socketio/server.hpp"
#include "socketio/socket.hpp"

namespace herald::socketio {

// ---- Broadcast ----

Broadcast& Broadcast::to(std::string room) {
  target_.rooms.push_back(std::move(room));
  return *this;
}

Broadcast& Broadcast::except(std::string room) {
  target_.except.push_back(std::move(room));
  return *this;
}

namespace {

Packet event_packet(const std::string& nsp, std::optional<uint64_t> id, std::string_view event, Json& args) {
  Packet packet{PacketType::Event, nsp, id, Json::array()};
  packet.data.push_back(event);
  for (auto& arg : args) packet.data.push_back(std::move(arg));
  return packet;
}

// The acknowledgements of one broadcast from the sockets of one loop, passed to the origin loop in
// batches: the first ack of a batch posts one task there, and later ones join it until it runs.
class LoopAcks : public AckSink, public std::enable_shared_from_this<LoopAcks> {
 public:
  LoopAcks(Namespace& nsp, size_t origin, std::shared_ptr<BroadcastAckHandlers> handlers,
           std::shared_ptr<const std::vector<SocketInfo>> reached)
      : nsp_(nsp), origin_(origin), handlers_(std::move(handlers)), reached_(std::move(reached)) {}

  void acked(uint32_t index, Json& args) override { add(Reply{index, std::move(args), false}); }
  void dropped(uint32_t index) override { add(Reply{index, Json(), true}); }

 private:
  struct Reply {
    uint32_t index;
    Json args;
    bool dropped;
  };

  void add(Reply reply) {
    bool first;
    {
      std::lock_guard lock(mutex_);
      first = pending_.empty();
      pending_.push_back(std::move(reply));
    }
    if (first) nsp_.post_to_loop(origin_, [self = shared_from_this()] { self->report(); });
  }

  // On the origin loop.
  void report() {
    {
      std::lock_guard lock(mutex_);
      reporting_.swap(pending_);
    }
    for (auto& reply : reporting_) {
      if (reply.dropped) {
        if (handlers_->on_dropped) handlers_->on_dropped((*reached_)[reply.index]);
      } else if (handlers_->on_ack) {
        handlers_->on_ack((*reached_)[reply.index], reply.args);
      }
    }
    reporting_.clear();
  }

  Namespace& nsp_;
  size_t origin_;
  std::shared_ptr<BroadcastAckHandlers> handlers_;
  std::shared_ptr<const std::vector<SocketInfo>> reached_;  // read-only once shared
  std::mutex mutex_;
  std::vector<Reply> pending_;    // guarded by mutex_
  std::vector<Reply> reporting_;  // the origin's
};

}  // namespace

void Broadcast::emit(std::string_view event, Json args) {
  emit_packet(event_packet(nsp_.name(), std::nullopt, event, args));
}

void Broadcast::emit_packet(Packet packet) {
  packet.nsp = nsp_.name();
  RemoteAdapter* publish_to = local_ ? nullptr : nsp_.adapter();
  uint64_t seq = 0;  // its place in the recovery log, if it has one
  std::shared_ptr<ProtocolPackets> packets;
  Recovery* recovery = nsp_.recovery();
  // As socket.io: events without an ack are replayable (an ack callback cannot be restored).
  if (recovery && packet.type == PacketType::Event && !packet.id) {
    SharedPackets v4;
    std::string offset_sent;
    auto encode = [&packet, &offset_sent, publish_to, this](std::string offset, const Stamp& stamp) {
      // Published under the log's lock, so this node's broadcasts reach the others in stamp order.
      // Other nodes get it with its stamp, not this node's offset: they log it under that stamp.
      if (publish_to) publish_to->broadcast(packet, target_, &stamp);
      offset_sent = offset;
      packet.data.push_back(std::move(offset));
      auto encoded = to_engine_packets(packet);
      packet.data.erase(packet.data.size() - 1);  // v3 clients get no offset
      return encoded;
    };
    // One that no other node gets (local(), or no cluster) is numbered apart from those they get,
    // so theirs have no gaps.
    bool seen_here_only = unstamped_ || (!stamp_ && !publish_to);
    std::tie(seq, v4) = recovery->append(target_, encode, stamp_ ? &*stamp_ : nullptr, seen_here_only);
    packets = std::make_shared<ProtocolPackets>(std::move(v4), std::move(packet), std::move(offset_sent));
  } else {
    if (publish_to) publish_to->broadcast(packet, target_, nullptr);
    SharedPackets text = to_engine_packets(packet);
    packets = std::make_shared<ProtocolPackets>(std::move(text), std::move(packet));
  }
  Namespace* nsp = &nsp_;
  nsp_.for_each_loop(target_, [nsp, packets, seq, loops = nsp_.loop_count()](const std::vector<Socket*>& sockets) {
    LoopPackets local(packets, sockets.size(), loops);
    for (Socket* socket : sockets) {
      // A socket that connected or came back after the broadcast was logged has it already, or
      // had it replayed.
      if (seq != 0 && seq <= socket->recovery_base()) continue;
      if (seq != 0 && socket->catching_up()) nsp->sent_live(*socket, seq);
      socket->send_encoded(local.get(socket->encoding()));
    }
  });
}

void Broadcast::emit_with_ack(std::string_view event, Json args, std::chrono::milliseconds timeout,
                              BroadcastAckHandlers handlers) {
  emit_packet_with_ack(event_packet(nsp_.name(), nsp_.server().next_ack_id(), event, args), timeout,
                       std::move(handlers));
}

void Broadcast::emit_packet_with_ack(Packet packet, std::chrono::milliseconds timeout, BroadcastAckHandlers handlers) {
  packet.nsp = nsp_.name();
  uint64_t id = packet.id.value_or(0);
  size_t origin = Namespace::origin_loop();
  auto shared = std::make_shared<BroadcastAckHandlers>(std::move(handlers));
  if (!local_ && nsp_.adapter()) {
    nsp_.adapter()->broadcast_with_ack(packet, target_, timeout, shared);
  } else {
    nsp_.post_to_loop(origin, [shared] {
      if (shared->on_remote_nodes) shared->on_remote_nodes(0, true);
    });
  }
  // Told as each loop sends it (recovery.hpp): an id to match it by, if its first argument is one.
  RecoveryWatch* watch = nsp_.recovery() ? nsp_.recovery()->watch() : nullptr;
  std::string watched;
  if (watch && packet.data.is_array() && packet.data.size() > 1 && packet.data[1].is_string())
    watched = packet.data[1].get<std::string>();
  SharedPackets text = to_engine_packets(packet);
  auto packets = std::make_shared<ProtocolPackets>(std::move(text), std::move(packet));
  Namespace* nsp = &nsp_;
  auto deadline = nsp_.server().pool().clock().now() + timeout;
  nsp_.for_each_loop(target_, [nsp, packets, origin, shared, id, deadline, watch,
                               watched = std::move(watched)](const std::vector<Socket*>& sockets) {
    if (!watched.empty()) watch->acked_broadcast_sending(Namespace::origin_loop(), watched);
    auto reached = std::make_shared<std::vector<SocketInfo>>();
    reached->reserve(sockets.size());
    for (Socket* socket : sockets) reached->push_back(SocketInfo{socket->id(), socket->user(), socket->data});
    // Report the reach before sending, so it arrives at the origin before any ack.
    nsp->post_to_loop(origin, [shared, reached] {
      if (shared->on_reached) shared->on_reached(*reached);
    });
    auto acks = std::make_shared<LoopAcks>(*nsp, origin, shared, std::move(reached));
    LoopPackets local(packets, sockets.size(), nsp->loop_count());
    auto now = nsp->server().pool().clock().now();
    for (size_t i = 0; i < sockets.size(); ++i) {
      sockets[i]->expect_ack(id, deadline, now, acks, static_cast<uint32_t>(i));
      sockets[i]->send_encoded(local.get(sockets[i]->encoding()));
    }
  });
}

void Broadcast::change_rooms(std::vector<std::string> rooms, bool join) {
  if (!local_ && nsp_.adapter()) {
    if (join)
      nsp_.adapter()->sockets_join(target_, rooms);
    else
      nsp_.adapter()->sockets_leave(target_, rooms);
  }
  nsp_.for_each_loop(target_, [rooms = std::move(rooms), join](const std::vector<Socket*>& sockets) {
    for (Socket* socket : sockets) join ? socket->join(rooms) : socket->leave(rooms);
  });
}

void Broadcast::sockets_join(std::string room) { change_rooms({std::move(room)}, true); }

void Broadcast::sockets_leave(std::string room) { change_rooms({std::move(room)}, false); }

void Broadcast::disconnect_sockets(bool close) {
  if (!local_ && nsp_.adapter()) nsp_.adapter()->disconnect_sockets(target_, close);
  nsp_.for_each_loop(target_, [close](const std::vector<Socket*>& sockets) {
    // Hold them: disconnecting removes them from the namespace's tables.
    std::vector<std::shared_ptr<Socket>> held;
    held.reserve(sockets.size());
    for (Socket* socket : sockets) held.push_back(socket->shared_from_this());
    for (auto& socket : held) socket->disconnect(close);
  });
}

void Broadcast::fetch_sockets(std::function<void(std::vector<SocketInfo>& sockets, bool complete)> done) {
  // This node's loops, and the other nodes when there is a cluster to ask.
  struct Found {
    std::vector<SocketInfo> sockets;
    bool complete = true;
  };
  bool ask_remote = !local_ && nsp_.adapter();
  auto found = net::FanIn<Found>::expect(ask_remote ? 2 : 1,
                                         [done = std::move(done)](Found& all) { done(all.sockets, all.complete); });
  if (ask_remote) {
    size_t origin = Namespace::origin_loop();
    Namespace* nsp = &nsp_;
    nsp_.adapter()->fetch_sockets(target_, [found, nsp, origin](std::vector<SocketInfo>& remote, bool complete) {
      nsp->post_to_loop(origin, [found, remote = std::move(remote), complete]() mutable {
        for (auto& socket : remote) found->result().sockets.push_back(std::move(socket));
        found->result().complete = complete;
        found->arrived();
      });
    });
  }
  nsp_.collect<std::vector<SocketInfo>>(
      target_,
      [](const std::vector<Socket*>& sockets) {
        std::vector<SocketInfo> infos;
        infos.reserve(sockets.size());
        for (Socket* socket : sockets) {
          std::vector<std::string> rooms{socket->id()};
          rooms.insert(rooms.end(), socket->rooms().begin(), socket->rooms().end());
          const auto& handshake = socket->handshake();
          infos.push_back(SocketInfo{socket->id(), socket->user(), socket->reported_data(), std::move(rooms),
                                     Json{{"address", handshake.address},
                                          {"query", handshake.query},
                                          {"auth", socket->auth()},
                                          {"transport", socket->transport()}}});
        }
        return infos;
      },
      [found](std::vector<std::vector<SocketInfo>>& parts) {
        for (auto& part : parts)
          for (auto& socket : part) found->result().sockets.push_back(std::move(socket));
        found->arrived();
      });
}

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
  if (opened && adapter_) adapter_->room_opened(room);
  return found->second;
}

void Namespace::close_room(Local& local, std::unordered_map<std::string, RoomMembers>::iterator room) {
  if (adapter_) adapter_->room_closed(room->first);
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
