#include "socketio/namespace.hpp"

#include "net/loop_pool.hpp"
#include "socketio/server.hpp"
#include "socketio/socket.hpp"

namespace herald::socketio {

SharedPackets to_engine_packets(const Packet& packet) {
  auto encoded = encode(packet);
  auto packets = std::make_shared<std::vector<engineio::OutPacket>>();
  packets->reserve(1 + encoded.attachments.size());
  packets->push_back(engineio::make_text_packet(engineio::PacketType::Message, encoded.text));
  for (auto& attachment : encoded.attachments) packets->push_back(engineio::make_binary_packet(std::move(attachment)));
  return packets;
}

// ---- Broadcast ----

Broadcast& Broadcast::to(std::string room) {
  target_.rooms.push_back(std::move(room));
  return *this;
}

Broadcast& Broadcast::except(std::string room) {
  target_.except.push_back(std::move(room));
  return *this;
}

void Broadcast::emit(std::string_view event, Json args) {
  Packet packet{PacketType::Event, nsp_.name(), std::nullopt, Json::array()};
  packet.data.push_back(event);
  for (auto& arg : args) packet.data.push_back(std::move(arg));
  SharedPackets packets = to_engine_packets(packet);
  nsp_.for_each_loop(target_, [packets](const std::vector<Socket*>& sockets) {
    for (Socket* socket : sockets) socket->send_encoded(*packets);
  });
}

void Broadcast::emit_with_ack(std::string_view event, Json args, std::chrono::milliseconds timeout,
                              BroadcastAckHandlers handlers) {
  uint64_t id = nsp_.server().next_ack_id();
  Packet packet{PacketType::Event, nsp_.name(), id, Json::array()};
  packet.data.push_back(event);
  for (auto& arg : args) packet.data.push_back(std::move(arg));
  SharedPackets packets = to_engine_packets(packet);
  size_t origin = Namespace::origin_loop();
  auto shared = std::make_shared<BroadcastAckHandlers>(std::move(handlers));
  Namespace* nsp = &nsp_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  nsp_.for_each_loop(target_, [nsp, packets, origin, shared, id, deadline](const std::vector<Socket*>& sockets) {
    std::vector<SocketInfo> reached;
    reached.reserve(sockets.size());
    for (Socket* socket : sockets) reached.push_back(SocketInfo{socket->id(), socket->data});
    // Report the reach before sending, so it arrives at the origin before any ack.
    nsp->post_to_loop(origin, [shared, reached = std::move(reached)]() mutable {
      if (shared->on_reached) shared->on_reached(reached);
    });
    for (Socket* socket : sockets) {
      socket->expect_ack(
          id, deadline,
          [nsp, origin, shared, info = SocketInfo{socket->id(), socket->data}](bool timed_out, Json& reply) mutable {
            if (timed_out) return;
            nsp->post_to_loop(origin, [shared, info = std::move(info), reply = std::move(reply)]() mutable {
              if (shared->on_ack) shared->on_ack(info, reply);
            });
          });
      socket->send_encoded(*packets);
    }
  });
}

void Broadcast::sockets_join(std::string room) {
  nsp_.for_each_loop(target_, [room](const std::vector<Socket*>& sockets) {
    for (Socket* socket : sockets) socket->join(room);
  });
}

void Broadcast::sockets_leave(std::string room) {
  nsp_.for_each_loop(target_, [room](const std::vector<Socket*>& sockets) {
    for (Socket* socket : sockets) socket->leave(room);
  });
}

void Broadcast::disconnect_sockets(bool close) {
  nsp_.for_each_loop(target_, [close](const std::vector<Socket*>& sockets) {
    // Hold them: disconnecting removes them from the namespace's tables.
    std::vector<std::shared_ptr<Socket>> held;
    held.reserve(sockets.size());
    for (Socket* socket : sockets) held.push_back(socket->shared_from_this());
    for (auto& socket : held) socket->disconnect(close);
  });
}

// ---- Namespace ----

Namespace::Namespace(Server& server, std::string name, size_t loops)
    : server_(server), name_(std::move(name)), locals_(loops) {}

const EventHandler* Namespace::handler(std::string_view event) const {
  auto found = handlers_.find(std::string(event));
  return found == handlers_.end() ? nullptr : &found->second;
}

std::vector<Socket*> Namespace::select(size_t loop, const Target& target) {
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
    if (auto found = local.rooms.find(room); found != local.rooms.end())
      for (Socket* socket : found->second) consider(socket);
    if (auto found = local.sockets.find(room); found != local.sockets.end()) consider(found->second.get());
  }
  return selected;
}

void Namespace::for_each_loop(Target target, std::function<void(const std::vector<Socket*>&)> work) {
  auto shared = std::make_shared<std::pair<Target, std::function<void(const std::vector<Socket*>&)>>>(std::move(target),
                                                                                                      std::move(work));
  server_.pool().post_all([this, shared](size_t loop) { shared->second(select(loop, shared->first)); });
}

size_t Namespace::origin_loop() {
  size_t current = net::LoopPool::current();
  return current == net::LoopPool::kNoLoop ? 0 : current;
}

void Namespace::post_to_loop(size_t loop, std::function<void()> work) { server_.pool().post(loop, std::move(work)); }

void Namespace::add(const std::shared_ptr<Socket>& socket) { locals_[socket->loop()].sockets[socket->id()] = socket; }

void Namespace::remove(Socket& socket) {
  Local& local = locals_[socket.loop()];
  for (const auto& room : socket.room_list()) {
    auto found = local.rooms.find(room);
    if (found == local.rooms.end()) continue;
    found->second.erase(&socket);
    if (found->second.empty()) local.rooms.erase(found);
  }
  socket.room_list().clear();
  local.sockets.erase(socket.id());
}

void Namespace::join(Socket& socket, const std::string& room) {
  if (room == socket.id() || socket.in_room(room)) return;
  socket.room_list().push_back(room);
  locals_[socket.loop()].rooms[room].insert(&socket);
}

void Namespace::leave(Socket& socket, const std::string& room) {
  auto& rooms = socket.room_list();
  auto it = std::find(rooms.begin(), rooms.end(), room);
  if (it == rooms.end()) return;
  rooms.erase(it);
  Local& local = locals_[socket.loop()];
  auto found = local.rooms.find(room);
  if (found == local.rooms.end()) return;
  found->second.erase(&socket);
  if (found->second.empty()) local.rooms.erase(found);
}

void Namespace::connected(const std::shared_ptr<Socket>& socket) {
  if (on_connection_) on_connection_(socket);
}

void Namespace::disconnected(Socket& socket, std::string_view reason) {
  if (on_disconnect_) on_disconnect_(socket, reason);
}

}  // namespace herald::socketio
