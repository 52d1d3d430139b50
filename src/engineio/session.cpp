#include "engineio/session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "engineio/payload_v3.hpp"
#include "engineio/server.hpp"
#include "net/transport_counters.hpp"

namespace herald::engineio {
namespace {

// How long a polling session closed by the server waits for the GET that carries its close packet.
constexpr auto kClosingGrace = std::chrono::seconds(5);

}  // namespace

Session::Session(Server& server, std::string id, size_t loop, Handshake handshake, Protocol protocol,
                 bool binary_polling)
    : server_(server),
      id_(std::move(id)),
      loop_(loop),
      handshake_(std::move(handshake)),
      protocol_(protocol),
      binary_polling_(binary_polling) {}

Session::~Session() {
  if (ws_) ws_->set_handler(nullptr);
  if (probe_) probe_->set_handler(nullptr);
}

void Session::open_polling(std::shared_ptr<net::HttpExchange> exchange, const std::string& open_packet) {
  transport_ = TransportKind::Polling;
  net::transport_counters().sessions_opened.fetch_add(1, std::memory_order_relaxed);
  net::transport_counters().polling_sessions.fetch_add(1, std::memory_order_relaxed);
  buffer_packet(make_text_packet(PacketType::Open, std::string_view(open_packet).substr(1)));
  poll_ = std::move(exchange);
  // A v3 client is connected to the default namespace at once: that answer rides along, as with
  // socket.io 2's initial packet.
  if (protocol_ == Protocol::V3)
    schedule_flush();
  else
    flush_poll();
  schedule_ping();
}

void Session::open_websocket(std::shared_ptr<net::WebSocket> ws, const std::string& open_packet) {
  transport_ = TransportKind::WebSocket;
  net::transport_counters().sessions_opened.fetch_add(1, std::memory_order_relaxed);
  net::transport_counters().websocket_sessions.fetch_add(1, std::memory_order_relaxed);
  ws_ = std::move(ws);
  ws_->set_handler(this);
  ws_->send(make_text_packet(PacketType::Open, std::string_view(open_packet).substr(1)).bytes, false);
  schedule_ping();
}

bool Session::can_upgrade() const {
  return state_ == State::Open && transport_ == TransportKind::Polling && !probe_ && server_.config().allow_upgrades;
}

// ---- sending ----

void Session::send(const OutPacket& packet) { send(std::span<const OutPacket>(&packet, 1)); }

void Session::send(std::span<const OutPacket> packets) {
  if (state_ != State::Open) return;
  if (transport_ == TransportKind::WebSocket) {
    for (const auto& packet : packets)
      if (!send_ws(packet)) return;  // on overflow the socket reports its close
    return;
  }
  for (const auto& packet : packets) buffer_packet(packet);
  if (buffered_bytes_ > server_.config().max_buffered_bytes) {
    spdlog::debug("engine.io: session {} too slow ({} bytes unsent), closing", id_, buffered_bytes_);
    net::transport_counters().slow_clients_dropped.fetch_add(1, std::memory_order_relaxed);
    buffer_.clear();
    buffered_bytes_ = 0;
    return terminate(CloseReason::TransportError);
  }
  if (poll_) schedule_flush();
}

bool Session::send_ws(const OutPacket& packet) {
  // v3 binary frames start with their type byte: a packet made in the other form is converted.
  if (packet.binary && packet.type_byte != (protocol_ == Protocol::V3))
    return ws_->send(make_binary_packet(std::string(binary_data(packet)), protocol_).bytes, true);
  return ws_->send(packet.bytes, packet.binary);
}

void Session::reply(net::HttpExchange& exchange, net::HttpResponse response) {
  // Browsers read error answers too only if they carry the CORS headers.
  server_.add_cors_headers(exchange.request(), response);
  exchange.respond(std::move(response));
}

void Session::buffer_packet(const OutPacket& packet) {
  buffered_bytes_ += packet.bytes->size();
  buffer_.push_back(packet);
}

void Session::schedule_flush() {
  // Everything sent during this loop turn goes out in one response.
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  boost::asio::post(server_.pool().loop(loop_), [self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->flush_poll();
  });
}

void Session::flush_poll() {
  if (!poll_ || buffer_.empty()) return;
  std::string body;
  bool binary_form = false;
  size_t taken = protocol_ == Protocol::V3
                     ? encode_payload_v3(buffer_, server_.config().max_payload, binary_polling_, body, binary_form)
                     : encode_payload(buffer_, server_.config().max_payload, body);
  for (size_t i = 0; i < taken; ++i) buffered_bytes_ -= buffer_[i].bytes->size();
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(taken));
  auto exchange = std::move(poll_);
  poll_.reset();
  reply(*exchange, binary_form ? net::HttpResponse::text(200, std::move(body), "application/octet-stream")
                               : net::HttpResponse::text(200, std::move(body)));
  if (state_ == State::Closed && buffer_.empty()) unregister();
}

void Session::answer_poll_with_noop() {
  if (!poll_) return;
  buffer_packet(common_packets().noop);
  flush_poll();
}

// ---- receiving ----

void Session::on_poll(std::shared_ptr<net::HttpExchange> exchange) {
  if (state_ == State::Closed) {
    // A session the server closed: this GET carries its close packet, if still queued.
    if (buffer_.empty()) return reply(*exchange, error_response(ErrorCode::UnknownSid));
    poll_ = std::move(exchange);
    return flush_poll();
  }
  if (poll_) {
    // Two GETs at once break the protocol: refuse the second, close the session.
    spdlog::debug("engine.io: session {} sent overlapping GET requests", id_);
    reply(*exchange, error_response(ErrorCode::BadRequest));
    return close(CloseReason::TransportError);
  }
  if (upgrading_) {
    // The client is switching to WebSocket: end this poll at once.
    poll_ = std::move(exchange);
    return answer_poll_with_noop();
  }
  poll_ = std::move(exchange);
  poll_->on_abort([weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->poll_.reset();
      self->terminate(CloseReason::TransportClose);
    }
  });
  if (!buffer_.empty()) schedule_flush();
}

void Session::on_post(const std::shared_ptr<net::HttpExchange>& exchange) {
  auto self = shared_from_this();
  const auto& request = exchange->request();
  if (state_ == State::Closed) return reply(*exchange, error_response(ErrorCode::UnknownSid));
  if (request.body_too_large) {
    spdlog::debug("engine.io: session {} posted more than maxPayload", id_);
    reply(*exchange, net::HttpResponse::text(413, "Payload Too Large"));
    return terminate(CloseReason::TransportError);
  }
  auto packets = decode_post(request);
  if (!packets) {
    reply(*exchange, error_response(ErrorCode::BadRequest));
    return terminate(CloseReason::ParseError);
  }
  reply(*exchange, net::HttpResponse::text(200, "ok", "text/html"));
  for (const auto& packet : *packets) {
    if (state_ != State::Open) break;
    on_packet(packet.type, packet.data, packet.binary);
  }
}

std::optional<std::vector<Packet>> Session::decode_post(const net::HttpRequest& request) const {
  if (protocol_ == Protocol::V3) {
    bool binary_form = request.header("content-type").starts_with("application/octet-stream");
    auto decoded = decode_payload_v3(request.body, binary_form);
    if (decoded.error.empty()) return std::move(decoded.packets);
    spdlog::debug("engine.io: session {} posted an invalid payload: {}", id_, decoded.error);
    return std::nullopt;
  }
  auto packets = decode_payload(request.body);
  if (!packets) spdlog::debug("engine.io: session {} posted an invalid payload", id_);
  return packets;
}

void Session::on_ws_message(net::WebSocket& ws, std::string_view data, bool binary) {
  auto self = shared_from_this();
  if (&ws == probe_.get()) return on_probe_message(data, binary);
  if (&ws != ws_.get() || state_ != State::Open) return;
  if (binary) {
    if (protocol_ == Protocol::V3) {
      // A v3 binary frame starts with its packet type; only messages carry binary.
      if (data.empty() || static_cast<uint8_t>(data[0]) != static_cast<uint8_t>(PacketType::Message)) {
        spdlog::debug("engine.io: session {} sent an invalid binary packet", id_);
        return terminate(CloseReason::ParseError);
      }
      data.remove_prefix(1);
    }
    return on_packet(PacketType::Message, data, true);
  }
  if (data.empty() || data[0] < '0' || data[0] > '6') {
    spdlog::debug("engine.io: session {} sent an invalid packet", id_);
    return terminate(CloseReason::ParseError);
  }
  on_packet(static_cast<PacketType>(data[0] - '0'), data.substr(1), false);
}

void Session::on_packet(PacketType type, std::string_view data, bool binary) {
  switch (type) {
    case PacketType::Pong:
      if (protocol_ == Protocol::V3) {
        // As Node's engine.io: the server never pings a v3 client, so a pong is out of place.
        spdlog::debug("engine.io: session {} sent a pong in the wrong heartbeat direction", id_);
        return terminate(CloseReason::TransportError);
      }
      if (awaiting_pong_) schedule_ping();
      break;
    case PacketType::Ping:
      // Engine.IO v4 clients do not ping, but answering is harmless and helps older tools. A v3
      // client's ping is its heartbeat: it restarts the wait for the next one.
      send(common_packets().pong);
      if (protocol_ == Protocol::V3) schedule_ping();
      break;
    case PacketType::Message:
      if (handler_) handler_->on_message(data, binary);
      break;
    case PacketType::Close:
      answer_poll_with_noop();
      terminate(CloseReason::TransportClose);
      break;
    case PacketType::Noop:
      break;
    case PacketType::Open:
    case PacketType::Upgrade:
      spdlog::debug("engine.io: session {} sent an unexpected packet {}", id_, static_cast<int>(type));
      terminate(CloseReason::ParseError);
      break;
  }
}

// ---- upgrade ----

void Session::start_probe(std::shared_ptr<net::WebSocket> ws) {
  probe_ = std::move(ws);
  probe_->set_handler(this);
  auto& clock = server_.pool().clock();
  upgrade_timer_ = std::make_unique<net::Alarm>(server_.pool().loop(loop_), clock);
  upgrade_timer_->set(clock.now() + server_.config().upgrade_timeout,
                      [weak = weak_from_this(), probe = std::weak_ptr<net::WebSocket>(probe_)] {
                        auto self = weak.lock();
                        if (!self || !self->probe_ || self->probe_ != probe.lock()) return;
                        spdlog::debug("engine.io: session {} upgrade timed out", self->id_);
                        self->probe_->set_handler(nullptr);
                        self->probe_->close(1000);
                        self->probe_.reset();
                        self->upgrading_ = false;
                      });
}

void Session::on_probe_message(std::string_view data, bool binary) {
  if (!binary && data == "2probe") {
    probe_->send(common_packets().probe_answer.bytes, false);
    upgrading_ = true;
    answer_poll_with_noop();
    return;
  }
  if (!binary && data == "5" && upgrading_) {
    upgrading_ = false;
    upgrade_timer_.reset();
    answer_poll_with_noop();
    transport_ = TransportKind::WebSocket;
    net::transport_counters().polling_sessions.fetch_sub(1, std::memory_order_relaxed);
    net::transport_counters().websocket_sessions.fetch_add(1, std::memory_order_relaxed);
    ws_ = std::move(probe_);
    probe_.reset();
    // What queued for polling while upgrading now goes over the WebSocket.
    std::vector<OutPacket> pending;
    pending.swap(buffer_);
    buffered_bytes_ = 0;
    send(pending);
    spdlog::debug("engine.io: session {} upgraded to websocket", id_);
    if (handler_) handler_->on_upgrade();
    return;
  }
  spdlog::debug("engine.io: session {} sent an invalid upgrade packet", id_);
  probe_->set_handler(nullptr);
  probe_->close(1002);
  probe_.reset();
  upgrading_ = false;
  upgrade_timer_.reset();
}

void Session::on_ws_closed(net::WebSocket& ws) {
  auto self = shared_from_this();
  if (&ws == probe_.get()) {
    probe_.reset();
    upgrading_ = false;
    upgrade_timer_.reset();
    return;
  }
  if (&ws == ws_.get()) {
    if (ws.overflowed()) net::transport_counters().slow_clients_dropped.fetch_add(1, std::memory_order_relaxed);
    terminate(ws.overflowed() ? CloseReason::TransportError : CloseReason::TransportClose);
  }
}

// ---- heartbeat ----

void Session::schedule_ping() {
  const Config& config = server_.config();
  // v3: the client pings every pingInterval and may take pingTimeout longer; the server only waits.
  if (protocol_ == Protocol::V3) return arm_timer(config.ping_interval + config.ping_timeout, true);
  arm_timer(config.ping_interval, false);
}

void Session::arm_timer(std::chrono::milliseconds delay, bool awaiting_pong) {
  awaiting_pong_ = awaiting_pong;
  deadline_ = server_.timers(loop_).schedule(shared_from_this(), delay);
}

void Session::cancel_timer() { deadline_ = std::chrono::steady_clock::time_point::max(); }

void Session::on_deadline(std::chrono::steady_clock::time_point deadline) {
  // Deadlines replaced by a later one (a pong re-arms the ping) still come due: ignore them.
  if (deadline != deadline_) return;
  cancel_timer();
  on_timer();
}

void Session::on_timer() {
  if (state_ == State::Closed) return unregister();  // the close packet was never fetched
  if (awaiting_pong_) {
    spdlog::debug("engine.io: session {} ping timeout", id_);
    return terminate(CloseReason::PingTimeout);
  }
  send(common_packets().ping);
  arm_timer(server_.config().ping_timeout, true);
}

// ---- closing ----

void Session::close(CloseReason reason) {
  if (state_ != State::Open) return;
  if (transport_ == TransportKind::WebSocket) {
    ws_->send(common_packets().close.bytes, false);
  } else {
    buffer_packet(common_packets().close);
  }
  terminate(reason);
}

void Session::terminate(CloseReason reason) {
  if (state_ != State::Open) return;
  auto self = shared_from_this();  // on_close below may drop the last other reference
  state_ = State::Closed;
  (transport_ == TransportKind::Polling ? net::transport_counters().polling_sessions
                                        : net::transport_counters().websocket_sessions)
      .fetch_sub(1, std::memory_order_relaxed);
  spdlog::debug("engine.io: session {} closed: {}", id_, to_string(reason));
  if (probe_) {
    probe_->set_handler(nullptr);
    probe_->close(1000);
    probe_.reset();
  }
  upgrade_timer_.reset();
  if (ws_) {
    ws_->set_handler(nullptr);
    ws_->close(1000);
  }
  if (auto handler = std::move(handler_)) {
    handler_.reset();
    handler->on_close(reason);
  }
  if (transport_ == TransportKind::Polling && !buffer_.empty() &&
      buffer_.back().bytes == common_packets().close.bytes) {
    // Keep the session reachable until its close packet is fetched (or the grace ends).
    if (poll_) return flush_poll();
    return arm_timer(kClosingGrace, false);
  }
  buffer_.clear();
  buffered_bytes_ = 0;
  if (poll_) {
    // A pending GET ends with a close packet so the client learns of it at once.
    buffer_packet(common_packets().close);
    flush_poll();
  }
  cancel_timer();
  unregister();
}

void Session::unregister() {
  if (!registered_) return;
  registered_ = false;
  cancel_timer();
  server_.remove(*this);
}

}  // namespace herald::engineio
