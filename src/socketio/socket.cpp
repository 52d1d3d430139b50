#include "socketio/socket.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>

#include "socketio/client.hpp"
#include "socketio/server.hpp"

namespace herald::socketio {

void Ack::operator()(Json args) {
  if (!id_) return;
  auto socket = socket_.lock();
  uint64_t id = *id_;
  id_.reset();
  if (!socket || !socket->connected()) return;
  if (!args.is_array()) args = Json::array({std::move(args)});
  socket->send_packet(Packet{PacketType::Ack, socket->nsp().name(), id, std::move(args)});
}

Socket::Socket(Client& client, Namespace& nsp, std::string id, Json auth)
    : client_(&client),
      nsp_(nsp),
      id_(std::move(id)),
      auth_(std::move(auth)),
      loop_(static_cast<uint32_t>(client.session()->loop())),
      encoding_(client.encoding()) {}

Socket::~Socket() = default;

const engineio::Handshake& Socket::handshake() const {
  static const engineio::Handshake kNone;
  return client_ && client_->session() ? client_->session()->handshake() : kNone;
}

std::string_view Socket::transport() const {
  return client_ && client_->session() ? client_->session()->transport_name() : std::string_view{};
}

std::string_view Socket::session_id() const {
  return client_ && client_->session() ? std::string_view(client_->session()->id()) : std::string_view{};
}

Socket::OwnHandlers& Socket::own() {
  if (!own_) own_ = std::make_unique<OwnHandlers>();
  return *own_;
}

void Socket::on(std::string event, EventHandler handler) {
  auto& events = own().events;
  for (auto& [name, existing] : events) {
    if (name == event) {
      existing = std::move(handler);
      return;
    }
  }
  events.emplace_back(std::move(event), std::move(handler));
}

void Socket::send_packet(const Packet& packet) {
  net::assert_on_loop(loop_);
  if (!client_) return;
  client_->send(packet);
}

void Socket::send_encoded(const std::vector<engineio::OutPacket>& packets) {
  net::assert_on_loop(loop_);
  if (!client_) return;
  client_->send(packets);
}

void Socket::emit(std::string_view event, Json args) {
  net::assert_on_loop(loop_);
  if (ServerObserver* observer = nsp_.server().observer(); observer && client_)
    observer->event_sent(*this, event, args);
  Packet packet{PacketType::Event, nsp_.name(), std::nullopt, Json::array()};
  packet.data.push_back(event);
  for (auto& arg : args) packet.data.push_back(std::move(arg));
  send_packet(packet);
}

void Socket::emit_with_ack(std::string_view event, Json args, std::chrono::milliseconds timeout, AckCallback callback) {
  net::assert_on_loop(loop_);
  if (!client_) {
    Json none = Json::array();
    if (callback) callback(true, none);
    return;
  }
  if (ServerObserver* observer = nsp_.server().observer()) observer->event_sent(*this, event, args);
  uint64_t id = nsp_.server().next_ack_id();
  Packet packet{PacketType::Event, nsp_.name(), id, Json::array()};
  packet.data.push_back(event);
  for (auto& arg : args) packet.data.push_back(std::move(arg));
  auto now = nsp_.server().pool().clock().now();
  drop_expired_untimed(now);
  acks_.push_back(PendingAck{id, now + timeout, std::move(callback), nullptr, 0, true});
  arm_ack_timer();
  send_packet(packet);
}

void Socket::expect_ack(uint64_t id, std::chrono::steady_clock::time_point deadline,
                        std::chrono::steady_clock::time_point now, const std::shared_ptr<AckSink>& sink,
                        uint32_t index) {
  if (!client_) return;
  drop_expired_untimed(now);
  acks_.push_back(PendingAck{id, deadline, nullptr, sink, index, false});
}

void Socket::drop_expired_untimed(std::chrono::steady_clock::time_point now) {
  std::erase_if(acks_, [&](const PendingAck& ack) { return !ack.timed && ack.deadline <= now; });
}

void Socket::arm_ack_timer() {
  auto timed = std::find_if(acks_.begin(), acks_.end(), [](const PendingAck& ack) { return ack.timed; });
  if (timed == acks_.end()) return;
  auto earliest = timed->deadline;
  for (const auto& ack : acks_)
    if (ack.timed && ack.deadline < earliest) earliest = ack.deadline;
  auto& clock = nsp_.server().pool().clock();
  if (!ack_timer_) {
    ack_timer_ = std::make_unique<net::Alarm>(nsp_.server().pool().loop(loop_), clock);
  } else if (ack_timer_->at() <= earliest && ack_timer_->at() > clock.now()) {
    return;  // already armed for something sooner
  }
  ack_timer_->set(earliest, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->expire_acks();
  });
}

void Socket::expire_acks() {
  auto now = nsp_.server().pool().clock().now();
  std::vector<PendingAck> expired;
  auto split =
      std::stable_partition(acks_.begin(), acks_.end(), [&](const PendingAck& ack) { return ack.deadline > now; });
  std::move(split, acks_.end(), std::back_inserter(expired));
  acks_.erase(split, acks_.end());
  arm_ack_timer();
  for (auto& ack : expired) {
    Json none = Json::array();
    if (ack.callback) ack.callback(true, none);
  }
}

bool Socket::in_room(std::string_view room) const {
  return std::find(rooms_.begin(), rooms_.end(), room) != rooms_.end();
}

const Json& Socket::auth() const {
  // Most clients send no auth: null here saves the empty map's allocation on every connection.
  static const Json kNone = Json::object();
  return auth_.is_null() ? kNone : auth_;
}

Json Socket::reported_data() const {
  if (!attached_) return data;
  Json reported = data.is_object() ? data : Json::object();
  attached_->report(reported);
  return reported;
}

void Socket::join(const std::string& room) {
  net::assert_on_loop(loop_);
  if (client_) nsp_.sockets().join(*this, room);
}

void Socket::leave(const std::string& room) {
  net::assert_on_loop(loop_);
  nsp_.sockets().leave(*this, room);
}

void Socket::join(const std::vector<std::string>& rooms) {
  net::assert_on_loop(loop_);
  if (client_) nsp_.sockets().join(*this, rooms);
}

void Socket::leave(const std::vector<std::string>& rooms) {
  net::assert_on_loop(loop_);
  nsp_.sockets().leave(*this, rooms);
}

void Socket::on_packet(Packet& packet) {
  switch (packet.type) {
    case PacketType::Event:
    case PacketType::BinaryEvent:
      return on_event(packet);
    case PacketType::Ack:
    case PacketType::BinaryAck:
      return on_ack(packet);
    case PacketType::Disconnect:
      return on_close(DisconnectReason::ClientNamespaceDisconnect);
    default:
      spdlog::debug("socket.io: socket {} sent an unexpected packet type {}", id_, static_cast<int>(packet.type));
      if (client_) client_->close(DisconnectReason::ParseError);
  }
}

void Socket::on_event(Packet& packet) {
  auto self = shared_from_this();
  if (ServerObserver* observer = nsp_.server().observer()) observer->event_received(*this, packet.data);
  Json& args = packet.data;
  std::string event = args[0].is_string() ? args[0].get<std::string>() : args[0].dump();
  args.erase(args.begin());
  Ack ack = packet.id ? Ack(weak_from_this(), *packet.id) : Ack();
  if (own_) {
    for (auto& [name, handler] : own_->events) {
      if (name == event) {
        auto keep = handler;  // the handler may replace itself
        keep(*this, args, ack);
        return nsp_.settle_came_back(*this);
      }
    }
  }
  if (const EventHandler* handler = nsp_.handler(event))
    (*handler)(*this, args, ack);
  else
    spdlog::debug("socket.io: socket {} emitted {} with no handler", id_, event);
  nsp_.settle_came_back(*this);
}

void Socket::on_ack(Packet& packet) {
  if (!packet.id) return;
  auto found = std::find_if(acks_.begin(), acks_.end(), [&](const PendingAck& ack) { return ack.id == *packet.id; });
  if (found == acks_.end()) {
    spdlog::debug("socket.io: socket {} acked unknown id {}", id_, *packet.id);
    return;
  }
  PendingAck ack = std::move(*found);
  acks_.erase(found);
  if (ack.sink)
    ack.sink->acked(ack.index, packet.data);
  else if (ack.callback)
    ack.callback(false, packet.data);
}

void Socket::disconnect(bool close) {
  net::assert_on_loop(loop_);
  if (!client_) return;
  Client* client = client_;
  send_packet(Packet{PacketType::Disconnect, nsp_.name(), std::nullopt, nullptr});
  on_close(DisconnectReason::ServerNamespaceDisconnect);
  if (close) client->close(DisconnectReason::ForcedServerClose);
}

namespace {

// The reasons socket.io keeps a session for: the connection failed, not the client or the
// server's application deciding to leave.
bool recoverable(DisconnectReason reason) {
  switch (reason) {
    case DisconnectReason::TransportClose:
    case DisconnectReason::TransportError:
    case DisconnectReason::PingTimeout:
    case DisconnectReason::ForcedClose:
    case DisconnectReason::ForcedServerClose:
    case DisconnectReason::ServerShuttingDown:
      return true;
    default:
      return false;
  }
}

}  // namespace

void Socket::restore(RecoveredSession& session, uint64_t base) {
  recovered_ = true;
  recovery_base_ = base;
  attached_ = std::move(session.attached);
  data = std::move(session.data);
}

void Socket::on_close(DisconnectReason reason) {
  if (!client_) return;
  auto self = shared_from_this();
  nsp_.settle_came_back(*this, true);
  // Socket.IO v4 protocol clients (socket.io-client 2.x) cannot come back: nothing to keep for them.
  if (Recovery* recovery = nsp_.cluster_side().recovery();
      recovery && protocol() == engineio::Protocol::V4 && recoverable(reason))
    recovery->persist(recovery->pid_of(id_), RecoveredSession{id_, rooms_, attached_, data, recovery_base_, {}});
  Client* client = client_;
  client_ = nullptr;
  nsp_.sockets().remove(*this);
  client->remove(*this);
  if (ack_timer_) ack_timer_->cancel();
  auto pending = std::move(acks_);
  acks_.clear();
  auto now = nsp_.server().pool().clock().now();
  for (auto& ack : pending) {
    Json none = Json::array();
    if (ack.sink && ack.deadline > now) ack.sink->dropped(ack.index);
    if (ack.callback) ack.callback(true, none);
  }
  if (own_) {
    if (auto handler = std::move(own_->on_disconnect)) handler(*this, reason);
  }
  nsp_.disconnected(*this, reason);
  own_.reset();
}

}  // namespace herald::socketio
