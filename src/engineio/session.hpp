// One Engine.IO session: its transport (long-polling, WebSocket, or polling being upgraded), the
// heartbeat, and the packets waiting for the client, in its protocol's form (v4, or v3 for
// socket.io-client 2.x). Lives on one loop; every call happens there.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engineio/close_reason.hpp"
#include "engineio/packet.hpp"
#include "net/clock.hpp"
#include "net/http.hpp"
#include "net/websocket.hpp"

namespace herald::engineio {

class Server;

// What the layer above (Socket.IO) sees of a session.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  virtual void on_message(std::string_view data, bool binary) = 0;
  virtual void on_close(CloseReason reason) = 0;
  // The session moved from long-polling to WebSocket.
  virtual void on_upgrade() {}
};

// The client's opening request, kept for the layers above.
struct Handshake {
  std::string address;
  std::string query;
  net::Headers headers;
};

enum class TransportKind : uint8_t { Polling, WebSocket };

class Session : public std::enable_shared_from_this<Session>, private net::WebSocketHandler {
 public:
  // `binary_polling`: a v3 client that takes binary polling payloads (it did not ask for b64).
  Session(Server& server, std::string id, size_t loop, Handshake handshake, Protocol protocol = Protocol::V4,
          bool binary_polling = false);
  ~Session() override;

  const std::string& id() const { return id_; }
  size_t loop() const { return loop_; }
  TransportKind transport() const { return transport_; }
  std::string_view transport_name() const { return transport_ == TransportKind::Polling ? "polling" : "websocket"; }
  const Handshake& handshake() const { return handshake_; }
  Protocol protocol() const { return protocol_; }
  bool is_open() const { return state_ == State::Open; }

  // The session owns its handler (one direction: the handler keeps only a plain pointer back,
  // valid until on_close).
  void set_handler(std::shared_ptr<SessionHandler> handler) { handler_ = std::move(handler); }

  // Queues packets for the client (a Socket.IO packet and its attachments go together).
  void send(const OutPacket& packet);
  void send(std::span<const OutPacket> packets);
  // Server-initiated close: the client gets a close packet, the handler on_close(reason).
  void close(CloseReason reason);

  // Entry points for the Engine.IO server.
  void open_polling(std::shared_ptr<net::HttpExchange> exchange, const std::string& open_packet);
  void open_websocket(std::shared_ptr<net::WebSocket> ws, const std::string& open_packet);
  void on_poll(std::shared_ptr<net::HttpExchange> exchange);
  void on_post(const std::shared_ptr<net::HttpExchange>& exchange);
  void start_probe(std::shared_ptr<net::WebSocket> ws);
  bool can_upgrade() const;
  // On WebSocket already, or probing one: another WebSocket for this session is to be ignored.
  bool has_websocket() const { return transport_ == TransportKind::WebSocket || probe_ != nullptr; }
  // The heartbeat (net::FixedDelayTimers) reached `deadline`.
  void on_deadline(std::chrono::steady_clock::time_point deadline);

 private:
  enum class State : uint8_t { Open, Closed };

  void on_ws_message(net::WebSocket& ws, std::string_view data, bool binary) override;
  void on_ws_closed(net::WebSocket& ws) override;
  void on_probe_message(std::string_view data, bool binary);
  void on_packet(PacketType type, std::string_view data, bool binary);
  // The packets of a POST body; nullopt (after logging why) when it is malformed.
  std::optional<std::vector<Packet>> decode_post(const net::HttpRequest& request) const;
  bool send_ws(const OutPacket& packet);

  void schedule_ping();
  void arm_timer(std::chrono::milliseconds delay, bool awaiting_pong);
  void cancel_timer();
  void on_timer();

  void reply(net::HttpExchange& exchange, net::HttpResponse response);
  void buffer_packet(const OutPacket& packet);
  void schedule_flush();
  void flush_poll();
  void answer_poll_with_noop();
  // Ends the session for the layers above.
  void terminate(CloseReason reason);
  void unregister();

  Server& server_;
  std::string id_;
  size_t loop_;
  Handshake handshake_;
  State state_ = State::Open;
  TransportKind transport_ = TransportKind::Polling;
  Protocol protocol_;
  bool binary_polling_;
  bool awaiting_pong_ = false;  // v3: always, as the client pings
  bool flush_scheduled_ = false;
  bool upgrading_ = false;  // the probe answered; waiting for the upgrade packet
  bool registered_ = true;
  size_t buffered_bytes_ = 0;
  std::vector<OutPacket> buffer_;            // polling: packets for the next GET
  std::shared_ptr<net::HttpExchange> poll_;  // polling: the GET waiting for packets
  std::shared_ptr<net::WebSocket> ws_;       // websocket transport
  std::shared_ptr<net::WebSocket> probe_;    // websocket being probed for an upgrade
  std::shared_ptr<SessionHandler> handler_;
  // The heartbeat's pending deadline (max: none); also ends a closing polling session.
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::unique_ptr<net::Alarm> upgrade_timer_;
};

}  // namespace herald::engineio
