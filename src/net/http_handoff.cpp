// Handing a connection on: to a WebSocket (the 101 answer), to another loop (the session's), or to
// the process that owns its session (the request forwarded, or the connection tunnelled).
#include <openssl/sha.h>

#include "codec/base64.hpp"
#include "net/http_connection_parts.hpp"
#include "net/http_response_head.hpp"
#include "net/tunnel.hpp"
#include "net/websocket.hpp"

namespace herald::net {
namespace {

std::string websocket_accept_key(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(key);
  input += kGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return codec::base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace

void HttpConnection::dispatch_moved(const std::function<void(std::shared_ptr<HttpExchange>)>& then) {
  awaiting_response_ = true;
  then(shared_from_this());
}

std::shared_ptr<WebSocket> HttpConnection::accept_websocket(const WebSocketLimits& limits) {
  if (!awaiting_response_ || taken_) return nullptr;
  awaiting_response_ = false;
  taken_ = true;
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
  response += websocket_accept_key(request_.header("sec-websocket-key"));
  response += "\r\n\r\n";
  auto data = buffer_.data();
  std::string already_read(static_cast<const char*>(data.data()), data.size());
  address_slot_.release();  // a session now: Engine.IO's per-address session limit counts it
  auto tls = stream_.release_tls();
  auto ws = WebSocket::make(stream_.release_socket(), limits, std::move(tls));
  ws->start(std::move(response), std::move(already_read));
  return ws;
}

TakenConnection take_connection(HttpExchange& exchange) {
  auto* connection = dynamic_cast<HttpConnection*>(&exchange);
  return connection ? connection->take_connection() : TakenConnection{};
}

TakenConnection HttpConnection::take_connection() {
  if (!awaiting_response_ || taken_ || stream_.tls()) return {};
  awaiting_response_ = false;
  taken_ = true;
  auto data = buffer_.data();
  TakenConnection taken{-1, std::string(static_cast<const char*>(data.data()), data.size())};
  address_slot_.release();
  boost::system::error_code ec;
  tcp::socket socket = stream_.release_socket();
  taken.fd = socket.release(ec);
  if (ec) taken.fd = -1;
  return taken;
}

void HttpConnection::move_to(size_t loop, std::function<void(std::shared_ptr<HttpExchange>)> then) {
  if (!awaiting_response_ || taken_) return;
  awaiting_response_ = false;
  taken_ = true;
  boost::system::error_code ec;
  tcp::socket socket = stream_.release_socket();
  auto protocol = socket.local_endpoint(ec).protocol();
  int fd = socket.release(ec);
  if (ec) return;
  // The TLS session goes along: it works on the descriptor, which keeps its number.
  pool_.post(loop, [fd, protocol, loop, tls = stream_.release_tls(), slot = std::move(address_slot_), policy = policy_,
                    &router = router_, &pool = pool_, request = std::move(request_), buffer = std::move(buffer_),
                    then = std::move(then)]() mutable {
    tcp::socket moved(pool.loop(loop), protocol, fd);
    auto connection = std::make_shared<HttpConnection>(std::move(moved), std::move(tls), std::move(policy), router,
                                                       pool, loop, std::move(request), std::move(buffer));
    connection->remote_address_ = connection->request_.remote_address;
    connection->address_slot_ = std::move(slot);
    connection->dispatch_moved(then);
  });
}

void HttpConnection::tunnel_to(const std::string& host, uint16_t port, HttpResponse unreachable) {
  if (!awaiting_response_ || taken_ || forward_) return;
  // A WebSocket belongs to the owner for good, and a refused body ends the connection anyway:
  // those hand the rest of the connection over. Any other request is forwarded alone, so the
  // next one on this connection is served here again.
  if (request_.is_websocket_upgrade() || request_.body_too_large) return start_byte_tunnel(host, port, unreachable);
  forward_ = forward_request(
      stream_.get_executor(), request_, host, port,
      [self = shared_from_this(), unreachable = std::move(unreachable)](std::optional<HttpResponse> response) mutable {
        self->forward_.reset();
        self->respond(response ? std::move(*response) : std::move(unreachable));
      });
  on_abort([weak = weak_from_this()] {
    if (auto self = weak.lock())
      if (auto forward = std::move(self->forward_)) forward->cancel();
  });
}

void HttpConnection::start_byte_tunnel(const std::string& host, uint16_t port, const HttpResponse& unreachable) {
  awaiting_response_ = false;
  taken_ = true;
  std::string bytes = request_.method + " " + request_.target + " HTTP/1.1\r\n";
  for (const auto& [name, value] : request_.headers) bytes.append(name).append(": ").append(value).append("\r\n");
  bytes += "\r\n";
  bytes += request_.body;
  auto data = buffer_.data();
  bytes.append(static_cast<const char*>(data.data()), data.size());
  address_slot_.release();
  auto tls = stream_.release_tls();
  start_tunnel(stream_.release_socket(), std::move(tls), std::move(bytes), host, port, whole_response(unreachable));
}

}  // namespace herald::net
