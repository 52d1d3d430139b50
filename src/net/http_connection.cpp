#include "net/http_connection.hpp"

#include <openssl/sha.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <limits>
#include <optional>

#include "engineio/base64.hpp"
#include "metrics/metrics.hpp"
#include "net/forward.hpp"
#include "net/tunnel.hpp"
#include "net/websocket.hpp"

namespace herald::net {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kRequestTimeout = std::chrono::seconds(30);
// Health checks send their request at once; anything slower must not hold one of the last descriptors.
constexpr auto kReserveRequestTimeout = std::chrono::milliseconds(500);
constexpr size_t kHeaderLimit = 16 * 1024;
constexpr size_t kDefaultBodyLimit = 64 * 1024;

std::string websocket_accept_key(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(key);
  input += kGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return engineio::base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

class HttpConnection : public HttpExchange, public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(tcp::socket socket, const HttpRouter& router, LoopPool& pool, size_t loop)
      : stream_(std::move(socket)),
        router_(router),
        pool_(pool),
        loop_(loop),
        in_reserve_(router.in_reserve(stream_.socket().native_handle())) {}

  // A connection moved from another loop, with its request already read.
  HttpConnection(tcp::socket socket, const HttpRouter& router, LoopPool& pool, size_t loop, HttpRequest request,
                 beast::flat_buffer buffer)
      : stream_(std::move(socket)),
        buffer_(std::move(buffer)),
        request_(std::move(request)),
        router_(router),
        pool_(pool),
        loop_(loop),
        in_reserve_(router.in_reserve(stream_.socket().native_handle())) {}

  void start() {
    boost::system::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = endpoint.address().to_string();
    read_request();
  }

  void dispatch_moved(const std::function<void(std::shared_ptr<HttpExchange>)>& then) {
    awaiting_response_ = true;
    then(shared_from_this());
  }

  const HttpRequest& request() const override { return request_; }
  size_t loop() const override { return loop_; }

  void respond(HttpResponse response) override {
    if (!awaiting_response_ || taken_) return;
    awaiting_response_ = false;
    on_abort_ = nullptr;
    if (watching_abort_) {
      boost::system::error_code ignored;
      stream_.socket().cancel(ignored);
      watching_abort_ = false;
    }
    auto message = std::make_shared<http::response<http::string_body>>();
    message->version(11);
    message->result(static_cast<unsigned>(response.status));
    for (auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    message->keep_alive(request_.keep_alive && !request_.body_too_large);
    metrics::global().bytes_out.fetch_add(message->body().size(), std::memory_order_relaxed);
    message->prepare_payload();
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message](const boost::system::error_code& ec, size_t) {
                        if (ec) return self->close();
                        if (self->request_.body_too_large) return self->drain_and_close();
                        if (!message->keep_alive()) return self->close();
                        self->read_request();
                      });
  }

  void on_abort(std::function<void()> callback) override {
    on_abort_ = std::move(callback);
    if (watching_abort_ || taken_) return;
    // While a long-poll waits, the client sends nothing: readability means it went away.
    watching_abort_ = true;
    stream_.socket().async_wait(
        tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
          self->watching_abort_ = false;
          if (ec || !self->awaiting_response_) return;
          char byte;
          ssize_t n = ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            self->awaiting_response_ = false;
            if (auto aborted = std::move(self->on_abort_)) aborted();
            self->close();
          }
        });
  }

  std::shared_ptr<WebSocket> accept_websocket(const WebSocketLimits& limits) override {
    if (!awaiting_response_ || taken_) return nullptr;
    awaiting_response_ = false;
    taken_ = true;
    std::string response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
    response += websocket_accept_key(request_.header("sec-websocket-key"));
    response += "\r\n\r\n";
    auto data = buffer_.data();
    std::string already_read(static_cast<const char*>(data.data()), data.size());
    auto ws = std::make_shared<WebSocket>(stream_.release_socket(), limits);
    ws->start(std::move(response), std::move(already_read));
    return ws;
  }

  void move_to(size_t loop, std::function<void(std::shared_ptr<HttpExchange>)> then) override {
    if (!awaiting_response_ || taken_) return;
    awaiting_response_ = false;
    taken_ = true;
    boost::system::error_code ec;
    tcp::socket socket = stream_.release_socket();
    auto protocol = socket.local_endpoint(ec).protocol();
    int fd = socket.release(ec);
    if (ec) return;
    pool_.post(loop, [fd, protocol, loop, &router = router_, &pool = pool_, request = std::move(request_),
                      buffer = std::move(buffer_), then = std::move(then)]() mutable {
      tcp::socket moved(pool.loop(loop), protocol, fd);
      auto connection =
          std::make_shared<HttpConnection>(std::move(moved), router, pool, loop, std::move(request), std::move(buffer));
      connection->remote_address_ = connection->request_.remote_address;
      connection->dispatch_moved(then);
    });
  }

  void tunnel_to(const std::string& host, uint16_t port) override {
    if (!awaiting_response_ || taken_ || forward_) return;
    // A WebSocket belongs to the owner for good, and a refused body ends the connection anyway:
    // those hand the rest of the connection over. Any other request is forwarded alone, so the
    // next one on this connection is served here again.
    if (request_.is_websocket_upgrade() || request_.body_too_large) return start_byte_tunnel(host, port);
    forward_ = forward_request(stream_.get_executor(), request_, host, port,
                               [self = shared_from_this()](std::optional<HttpResponse> response) {
                                 self->forward_.reset();
                                 if (!response) response = HttpResponse::json(502, std::string(kOwnerUnreachableBody));
                                 self->respond(std::move(*response));
                               });
    on_abort([weak = weak_from_this()] {
      if (auto self = weak.lock())
        if (auto forward = std::move(self->forward_)) forward->cancel();
    });
  }

 private:
  void start_byte_tunnel(const std::string& host, uint16_t port) {
    awaiting_response_ = false;
    taken_ = true;
    std::string bytes = request_.method + " " + request_.target + " HTTP/1.1\r\n";
    for (const auto& [name, value] : request_.headers) bytes += name + ": " + value + "\r\n";
    bytes += "\r\n";
    bytes += request_.body;
    auto data = buffer_.data();
    bytes.append(static_cast<const char*>(data.data()), data.size());
    start_tunnel(stream_.release_socket(), std::move(bytes), host, port);
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // Beast would check Content-Length against its default limit while parsing the header, before
    // the route (and its limit) is known: lift it here and apply the route's limit in on_header.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    // A connection on the last descriptors must not hold one long: its request comes soon or never.
    stream_.expires_after(in_reserve_ ? kReserveRequestTimeout : kRequestTimeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](const boost::system::error_code& ec, size_t) { self->on_header(ec); });
  }

  void on_header(const boost::system::error_code& ec) {
    if (ec) {
      if (ec != http::error::end_of_stream && ec != asio::error::eof && ec != beast::error::timeout)
        spdlog::debug("http: bad request header from {}: {}", remote_address_, ec.message());
      if (ec == http::error::header_limit || ec.category() == make_error_code(http::error::bad_method).category())
        return respond_error_and_close(ec == http::error::header_limit ? 431 : 400);
      return close();
    }
    const auto& header = parser_->get();
    std::string_view target = header.target();
    std::string_view path = target.substr(0, target.find('?'));
    route_ = router_.match(path);
    bool upgrade = parser_->upgrade();
    if (parser_->is_done() || upgrade) return dispatch();
    size_t limit = route_ ? route_->body_limit : kDefaultBodyLimit;
    // Beast checks Content-Length against the limit while parsing the header, before the route is
    // known; check it here, and let the parser enforce the limit on chunked bodies.
    if (auto length = parser_->content_length(); length && *length > limit) {
      body_too_large_ = true;
      return dispatch();
    }
    parser_->body_limit(limit);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](const boost::system::error_code& ec2, size_t) {
                       if (ec2 == http::error::body_limit) {
                         self->body_too_large_ = true;
                         return self->dispatch();
                       }
                       if (ec2) {
                         spdlog::debug("http: bad request body from {}: {}", self->remote_address_, ec2.message());
                         if (ec2.category() == make_error_code(http::error::bad_method).category())
                           return self->respond_error_and_close(400);
                         return self->close();
                       }
                       self->dispatch();
                     });
  }

  void dispatch() {
    auto& message = parser_->get();
    request_ = HttpRequest{};
    request_.method = std::string(message.method_string());
    request_.target = std::string(message.target());
    size_t question = request_.target.find('?');
    request_.path = request_.target.substr(0, question);
    if (question != std::string::npos) request_.query = request_.target.substr(question + 1);
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request_.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request_.keep_alive = message.keep_alive();
    request_.body_too_large = body_too_large_;
    if (!body_too_large_) request_.body = std::move(message.body());
    metrics::global().bytes_in.fetch_add(request_.body.size(), std::memory_order_relaxed);
    request_.remote_address =
        router_.trusted_proxies().client_address(remote_address_, request_.header("x-forwarded-for"));
    body_too_large_ = false;
    parser_.reset();
    stream_.expires_never();
    awaiting_response_ = true;
    if (in_reserve_ && (!route_ || !route_->essential)) {
      metrics::global().descriptor_refusals.fetch_add(1, std::memory_order_relaxed);
      request_.keep_alive = false;
      return respond(HttpResponse::json(503, R"({"error":"the server is at its open-file limit: retry later"})")
                         .with("Retry-After", "1"));
    }
    if (!route_) return respond(HttpResponse::text(404, "Not Found"));
    route_->handler(shared_from_this());
  }

  void respond_error_and_close(int status) {
    request_.keep_alive = false;
    awaiting_response_ = true;
    respond(HttpResponse::text(status, status == 431 ? "Request Header Fields Too Large" : "Bad Request"));
  }

  // The client may still be sending the body we refused: closing now would reset the connection
  // and could destroy our response before it is read. Half-close, discard what arrives, then close.
  void drain_and_close() {
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    discard_input();
  }

  void discard_input() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(16 * 1024),
                            [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                              if (ec) return self->close();
                              self->discard_input();
                            });
  }

  void close() {
    if (taken_) return;
    on_abort_ = nullptr;
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  const HttpRouter& router_;
  LoopPool& pool_;
  size_t loop_;
  const HttpRouter::Route* route_ = nullptr;
  std::string remote_address_;
  std::function<void()> on_abort_;
  std::shared_ptr<Forward> forward_;  // the request in flight to its owner, if forwarded
  bool awaiting_response_ = false;
  bool taken_ = false;  // the socket moved to a WebSocket or another loop
  bool body_too_large_ = false;
  bool watching_abort_ = false;
  bool in_reserve_ = false;  // took one of the last descriptors: health checks only
};

}  // namespace

void serve_http(tcp::socket socket, const HttpRouter& router, LoopPool& pool, size_t loop) {
  std::make_shared<HttpConnection>(std::move(socket), router, pool, loop)->start();
}

}  // namespace herald::net
