// The connection behind serve_http, shared by its parts: net/http_connection.cpp reads requests
// and writes responses (HTTP/1.1, keep-alive); net/http_handoff.cpp hands a connection on (to a
// WebSocket, to another loop, or to the process that owns its session). Only these see Beast.
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/client_stream.hpp"
#include "net/connection_limits.hpp"
#include "net/forward.hpp"
#include "net/http.hpp"
#include "net/http_request_parser.hpp"
#include "net/http_takeover.hpp"
#include "net/loop_pool.hpp"

namespace herald::net {

namespace beast = boost::beast;
namespace http = beast::http;

class HttpConnection : public HttpExchange, public std::enable_shared_from_this<HttpConnection> {
 public:
  using tcp = asio::ip::tcp;

  // `tls`: the TLS session on the socket's descriptor (its handshake still to come), or nullptr.
  HttpConnection(tcp::socket socket, std::unique_ptr<TlsSession> tls, std::shared_ptr<const ConnectionPolicy> policy,
                 const HttpRouter& router, LoopPool& pool, size_t loop);
  // A connection moved from another loop, with its request already read.
  HttpConnection(tcp::socket socket, std::unique_ptr<TlsSession> tls, std::shared_ptr<const ConnectionPolicy> policy,
                 const HttpRouter& router, LoopPool& pool, size_t loop, HttpRequest request, beast::flat_buffer buffer);

  void start();

  const HttpRequest& request() const override { return request_; }
  size_t loop() const override { return loop_; }
  void respond(HttpResponse response) override;
  void on_abort(std::function<void()> callback) override;
  // http_handoff.cpp
  std::shared_ptr<WebSocket> accept_websocket(const WebSocketLimits& limits) override;
  void move_to(size_t loop, std::function<void(std::shared_ptr<HttpExchange>)> then) override;
  void tunnel_to(const std::string& host, uint16_t port, HttpResponse unreachable) override;
  // net/http_takeover.hpp
  TakenConnection take_connection();

 private:
  void dispatch_moved(const std::function<void(std::shared_ptr<HttpExchange>)>& then);
  void start_byte_tunnel(const std::string& host, uint16_t port, const HttpResponse& unreachable);
  // http_opening.cpp
  void read_proxy_header();
  void on_proxy_bytes();
  void admit();
  void on_tls_handshake(HandshakeOutcome outcome);
  void write_plain_and_close(const std::string& answer);

  void read_request();
  void read_more();
  void on_read(boost::system::error_code ec, size_t bytes);
  void parse_request();
  bool on_header();  // false: the request went on without its body (dispatched or refused)
  void on_read_error(const boost::system::error_code& ec);
  void dispatch();
  void after_response(bool keep_alive);
  void respond_error_and_close(int status);
  void drain_and_close();
  void discard_input();
  void close();

  ClientStream stream_;
  std::shared_ptr<const ConnectionPolicy> policy_;
  beast::flat_buffer buffer_;
  std::optional<HttpRequestParser> parser_;  // parses into request_
  HttpRequest request_;
  std::string response_head_;  // the answer being written: its status line and header,
  std::string response_body_;  // and its body
  const HttpRouter& router_;
  LoopPool& pool_;
  size_t loop_;
  const HttpRouter::Route* route_ = nullptr;
  std::string remote_address_;
  std::function<void()> on_abort_;
  std::shared_ptr<Forward> forward_;  // the request in flight to its owner, if forwarded
  std::string proxy_bytes_;           // the part of a PROXY header read so far
  ConnectionsPerAddress::Slot address_slot_;
  bool awaiting_response_ = false;
  bool taken_ = false;  // the socket moved to a WebSocket or another loop
  bool body_too_large_ = false;
  bool reading_body_ = false;   // the request's header is parsed
  bool body_deadline_ = false;  // the body is awaited under its own deadline
  bool watching_abort_ = false;
  bool in_reserve_ = false;  // took one of the last descriptors: health checks only
};

}  // namespace herald::net
