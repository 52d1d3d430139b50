// One client's connection to one namespace: its handlers, rooms and pending acknowledgements.
// Lives on the loop of its Engine.IO session; call its methods there.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engineio/session.hpp"
#include "net/clock.hpp"
#include "socketio/encoding.hpp"
#include "socketio/namespace.hpp"
#include "socketio/recovery.hpp"
#include "socketio/socket_data.hpp"
#include "socketio/types.hpp"

namespace herald::socketio {

class Client;

class Socket : public std::enable_shared_from_this<Socket> {
 public:
  Socket(Client& client, Namespace& nsp, std::string id, Json auth);
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  const std::string& id() const { return id_; }
  Namespace& nsp() { return nsp_; }
  // The handshake's auth payload; an empty object when the client sent none.
  const Json& auth() const;
  const engineio::Handshake& handshake() const;
  std::string_view transport() const;
  // The id of its Engine.IO session (socket.io's client id); empty once disconnected.
  std::string_view session_id() const;
  // The Engine.IO protocol of its connection (v3: a socket.io-client 2.x).
  engineio::Protocol protocol() const { return protocol_of(encoding_); }
  // How packets to it are written: its client's parser over that protocol.
  Encoding encoding() const { return encoding_; }
  size_t loop() const { return loop_; }
  bool connected() const { return client_ != nullptr; }
  // Application data attached to the socket.
  Json data;

  // The server's typed data (socket_data.hpp; null: none). Typed rather than kept in `data` when
  // the server tests it often, e.g. in broadcast filters: a pointer to read, no JSON to search.
  // Reach reports and recovery sessions share it; attach another to change it.
  const SocketDataPtr& attached() const { return attached_; }
  template <class T>
  const T* attached_as() const {
    return socketio::attached_as<T>(attached_);
  }
  void attach(SocketDataPtr attached) { attached_ = std::move(attached); }
  // `data`, with what the attached data reports added, as fetchSockets reports it.
  Json reported_data() const;
  // Connection state recovery: true when this socket is one that dropped and came back (its id,
  // rooms, attached data and `data` restored); the recovery log position it has every broadcast up to.
  bool recovered() const { return recovered_; }
  // Came back with a pid this node could not restore and not settled yet (Namespace::hold_came_back):
  // the broadcasts it is sent live are noted, so that its catch-up does not send them again.
  bool catching_up() const { return catching_up_; }
  void set_catching_up(bool on) { catching_up_ = on; }
  uint64_t recovery_base() const { return recovery_base_; }
  void set_recovery_base(uint64_t base) { recovery_base_ = base; }
  // Takes back a dropped socket's state (before it is added to its namespace's rooms).
  void restore(RecoveredSession& session, uint64_t base);

  void on(std::string event, EventHandler handler);
  void on_disconnect(DisconnectHandler handler) { own().on_disconnect = std::move(handler); }

  void emit(std::string_view event, Json args = Json::array());
  // Emits with an acknowledgement request; `callback` runs once with the reply or on timeout.
  void emit_with_ack(std::string_view event, Json args, std::chrono::milliseconds timeout, AckCallback callback);
  // Broadcast to a room from this socket: every member but this socket.
  Broadcast to(std::string room) { return Broadcast(nsp_, Target{{std::move(room)}, {id_}, {}, Json::object()}); }

  void join(const std::string& room);
  void leave(const std::string& room);
  // Many at once, in time linear in the rooms involved.
  void join(const std::vector<std::string>& rooms);
  void leave(const std::vector<std::string>& rooms);
  // Rooms joined, not counting the socket's own id.
  const std::vector<std::string>& rooms() const { return rooms_; }
  bool in_room(std::string_view room) const;

  // Disconnects from the namespace; with close, the whole underlying connection.
  void disconnect(bool close = false);

  // Expects an ack for a packet sent by a broadcast, to be passed to `sink` with `index`. No timer:
  // after `deadline` the expectation is dropped silently the next time acks are checked (the
  // broadcast's origin keeps the time). `now` is the caller's clock reading, one for all recipients.
  void expect_ack(uint64_t id, std::chrono::steady_clock::time_point deadline,
                  std::chrono::steady_clock::time_point now, const std::shared_ptr<AckSink>& sink, uint32_t index);

  // ---- used by Client, Namespace, LoopSockets and Ack ----
  void send_packet(const Packet& packet);
  void send_encoded(const std::vector<engineio::OutPacket>& packets);
  void on_packet(Packet& packet);
  void on_close(DisconnectReason reason);
  std::vector<std::string>& room_list() { return rooms_; }

 private:
  struct PendingAck {
    uint64_t id;
    std::chrono::steady_clock::time_point deadline;
    AckCallback callback;           // emit_with_ack's
    std::shared_ptr<AckSink> sink;  // or a broadcast's, told `index`
    uint32_t index = 0;
    bool timed = true;  // has a timer and reports its timeout; broadcast expectations do not
  };
  void drop_expired_untimed(std::chrono::steady_clock::time_point now);
  void on_event(Packet& packet);
  void on_ack(Packet& packet);
  void arm_ack_timer();
  void expire_acks();

  Client* client_;
  Namespace& nsp_;
  std::string id_;
  Json auth_;
  uint64_t recovery_base_ = 0;
  // The loop's index as 32 bits, packed with the next three into one word: a Socket is made per
  // connection (docs/architecture.md counts its bytes).
  uint32_t loop_;
  Encoding encoding_;
  bool recovered_ = false;
  bool catching_up_ = false;
  std::vector<std::string> rooms_;
  SocketDataPtr attached_;
  // Handlers of this socket alone; most sockets have none (the namespace's serve them all).
  struct OwnHandlers {
    std::vector<std::pair<std::string, EventHandler>> events;
    DisconnectHandler on_disconnect;
  };
  OwnHandlers& own();
  std::unique_ptr<OwnHandlers> own_;
  std::vector<PendingAck> acks_;
  std::unique_ptr<net::Alarm> ack_timer_;
};

}  // namespace herald::socketio
