#include "net/websocket.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <optional>
#include <stdexcept>
#include <utility>

#include "net/frame_gather.hpp"
#include "net/tls.hpp"
#include "net/transport_counters.hpp"
#include "net/websocket_rare.hpp"
#include "net/ws_frame_parser.hpp"

namespace herald::net {
namespace {

constexpr size_t kReadChunk = size_t{64} * 1024;
constexpr auto kCloseGrace = std::chrono::seconds(2);
// Keeps the counters in 32 bits; no sane bound comes near.
constexpr size_t kLimitCap = size_t{1} << 31;

char* read_buffer() {
  thread_local std::array<char, kReadChunk> buffer;
  return buffer.data();
}

uint32_t capped(size_t limit) { return static_cast<uint32_t>(std::min(limit, kLimitCap)); }

std::shared_ptr<const std::string> close_payload(uint16_t code) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xff);
  return std::make_shared<const std::string>(std::move(payload));
}

using LoopSocket = asio::basic_stream_socket<asio::ip::tcp, asio::io_context::executor_type>;

// Moves the descriptor onto the loop's concrete executor (the handshake came in on a polymorphic one).
LoopSocket adopt(asio::ip::tcp::socket& socket) {
  auto polymorphic = socket.get_executor();
  const auto* executor = polymorphic.target<asio::io_context::executor_type>();
  if (!executor) throw std::invalid_argument("net::WebSocket needs a socket on an io_context");
  LoopSocket adopted(*executor);
  boost::system::error_code ec;
  auto protocol = socket.local_endpoint(ec).protocol();
  int fd = socket.release(ec);
  if (ec) return adopted;  // already closed: the first wait reports it
  adopted.assign(protocol, fd, ec);
  if (ec) ::close(fd);
  return adopted;
}

}  // namespace

WebSocket::WebSocket(asio::ip::tcp::socket socket, const WebSocketLimits& limits)
    : socket_(adopt(socket)),
      outbox_(&outbox_of(socket_.get_executor().context())),
      max_message_(capped(limits.max_message)),
      max_queued_bytes_(capped(limits.max_queued_bytes)) {
  static_assert(kRaw == kRawOpcode);
}

WebSocket::~WebSocket() = default;

struct WebSocket::WithTls final : WebSocket {
  WithTls(asio::ip::tcp::socket socket, const WebSocketLimits& limits, std::unique_ptr<TlsSession> tls)
      : WebSocket(std::move(socket), limits), session(std::move(tls)) {
    with_tls_ = true;
  }
  std::unique_ptr<TlsSession> session;
};

std::shared_ptr<WebSocket> WebSocket::make(asio::ip::tcp::socket socket, const WebSocketLimits& limits,
                                           std::unique_ptr<TlsSession> tls) {
  // shared_ptr deletes what it made, a WithTls, without a virtual destructor.
  if (tls) return std::make_shared<WithTls>(std::move(socket), limits, std::move(tls));
  return std::make_shared<WebSocket>(std::move(socket), limits);
}

TlsSession* WebSocket::tls() const { return with_tls_ ? static_cast<const WithTls*>(this)->session.get() : nullptr; }

void WebSocket::start(std::string handshake_response, std::string already_read) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  enqueue(std::make_shared<const std::string>(std::move(handshake_response)), kRaw);
  if (!already_read.empty() && !consume(already_read.data(), already_read.size())) return;
  trim_rare();
  // OpenSSL may already hold the client's next bytes (read with the request): read before waiting.
  if (tls()) return asio::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable(); });
  wait_readable();
}

// ---- reading ----

void WebSocket::wait_readable() {
  socket_.async_wait(Socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) return self->on_readable();
    if (self->state_ != State::Closed) self->fail();
  });
}

void WebSocket::on_readable() {
  if (state_ == State::Closed) return;
  if (tls()) return read_tls(read_buffer());
  read_plain(read_buffer());
}

void WebSocket::read_plain(char* buffer) {
  while (state_ != State::Closed) {
    boost::system::error_code ec;
    size_t n = socket_.read_some(asio::buffer(buffer, kReadChunk), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) return fail();  // EOF or reset: during our own close this is the expected end
    transport_counters().bytes_in.fetch_add(n, std::memory_order_relaxed);
    if (!consume(buffer, n)) return;
    if (n < kReadChunk) break;
  }
  if (state_ == State::Closed) return;
  trim_rare();
  wait_readable();
}

// OpenSSL hands over at most a record per read, and may hold more than the socket shows: read until
// it wants the socket again, or the wait may never end.
void WebSocket::read_tls(char* buffer) {
  while (state_ != State::Closed) {
    TlsResult result = tls()->read(buffer, kReadChunk);
    if (result.status == TlsStatus::WantRead) break;
    if (result.status == TlsStatus::WantWrite) {
      // A reply OpenSSL owes the peer (a key update) waits for room; then reading goes on.
      socket_.async_wait(Socket::wait_write, [self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) return self->on_readable();
        if (self->state_ != State::Closed) self->fail();
      });
      return;
    }
    if (result.status != TlsStatus::Done) return fail();  // closed or broken
    transport_counters().bytes_in.fetch_add(result.bytes, std::memory_order_relaxed);
    if (!consume(buffer, result.bytes)) return;
  }
  if (state_ == State::Closed) return;
  trim_rare();
  wait_readable();
}

// Hands what the parser finds to the handler, and answers control frames.
struct WebSocket::FrameSink final : WsFrameHandler {
  explicit FrameSink(WebSocket& socket) : ws(socket) {}

  bool on_message(std::string_view data, bool binary) override { return ws.deliver(data, binary); }

  bool on_ping(std::string_view payload) override {
    // After our close frame nothing more may be sent; a peer that pings without reading is slow.
    if (ws.state_ != State::Open) return true;
    return ws.enqueue_bounded(std::make_shared<const std::string>(payload), kPong);
  }

  bool on_pong(std::string_view) override { return true; }

  bool on_close(uint16_t code, std::string_view) override {
    ws.peer_closed_ = true;
    if (ws.state_ == State::Open) {
      // Echo the peer's code, as RFC 6455 5.5.1 asks (1000 when it gave none), then end the connection.
      ws.close(code == kCloseNoStatus ? kCloseNormal : code);
      ws.notify_closed();
    } else {
      ws.shutdown_socket();
    }
    return false;
  }

  WebSocket& ws;
};

bool WebSocket::consume(char* data, size_t size) {
  // The parser is taken out of Rare for the parse, so that what the handlers do to Rare cannot pull
  // it away meanwhile; it goes back only if a frame or a message is left unfinished.
  std::optional<WsFrameParser> parser;
  if (rare_ && rare_->parser) {
    parser = std::move(rare_->parser);
    rare_->parser.reset();
  } else {
    parser.emplace(max_message_);
  }
  FrameSink sink(*this);
  if (!parser->feed(data, size, sink)) {
    if (uint16_t code = parser->error()) protocol_error(code);
    return false;
  }
  if (state_ == State::Closed) return false;
  if (!parser->idle()) rare().parser = std::move(parser);
  return true;
}

bool WebSocket::deliver(std::string_view message, bool binary) {
  if (handler_) handler_->on_ws_message(*this, message, binary);
  return state_ == State::Open;
}

// ---- closing ----

void WebSocket::close(uint16_t code) {
  if (state_ != State::Open) return;
  state_ = State::Closing;
  // An unfinished frame or message stays with the parser: the peer's close frame is still to be read.
  enqueue(close_payload(code), kClose);
  auto& timer = rare().close_timer.emplace(socket_.get_executor(), kCloseGrace);
  timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->shutdown_socket();
  });
}

void WebSocket::protocol_error(uint16_t code) {
  close(code);
  notify_closed();
}

void WebSocket::fail() {
  shutdown_socket();
  notify_closed();
}

void WebSocket::shutdown_socket() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (with_tls_) static_cast<WithTls*>(this)->session.reset();
  // A closed connection needs none of its queues or timer; callers touch none of it afterwards.
  queued_bytes_ = 0;
  rare_.reset();
}

void WebSocket::notify_closed() {
  if (auto* handler = handler_) {
    handler_ = nullptr;
    handler->on_ws_closed(*this);
  }
}

}  // namespace herald::net
