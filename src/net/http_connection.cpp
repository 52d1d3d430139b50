#include "net/http_connection.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <cctype>
#include <limits>

#include "net/http_connection_parts.hpp"
#include "net/transport_counters.hpp"

namespace herald::net {
namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(30);
// Health checks send their request at once; anything slower must not hold one of the last descriptors.
constexpr auto kReserveRequestTimeout = std::chrono::milliseconds(500);
constexpr size_t kDefaultBodyLimit = size_t{64} * 1024;

}  // namespace

HttpConnection::HttpConnection(tcp::socket socket, std::unique_ptr<TlsSession> tls,
                               std::shared_ptr<const ConnectionPolicy> policy, const HttpRouter& router, LoopPool& pool,
                               size_t loop)
    : stream_(std::move(socket), std::move(tls)),
      policy_(std::move(policy)),
      router_(router),
      pool_(pool),
      loop_(loop),
      in_reserve_(router.in_reserve(stream_.socket().native_handle())) {}

HttpConnection::HttpConnection(tcp::socket socket, std::unique_ptr<TlsSession> tls,
                               std::shared_ptr<const ConnectionPolicy> policy, const HttpRouter& router, LoopPool& pool,
                               size_t loop, HttpRequest request, beast::flat_buffer buffer)
    : stream_(std::move(socket), std::move(tls)),
      policy_(std::move(policy)),
      buffer_(std::move(buffer)),
      request_(std::move(request)),
      router_(router),
      pool_(pool),
      loop_(loop),
      in_reserve_(router.in_reserve(stream_.socket().native_handle())) {}

void HttpConnection::respond(HttpResponse response) {
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
  transport_counters().bytes_out.fetch_add(message->body().size(), std::memory_order_relaxed);
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

void HttpConnection::on_abort(std::function<void()> callback) {
  on_abort_ = std::move(callback);
  if (watching_abort_ || taken_) return;
  // While a long-poll waits, the client sends nothing: readability means it went away.
  watching_abort_ = true;
  stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
    self->watching_abort_ = false;
    if (ec || !self->awaiting_response_) return;
    switch (self->stream_.peer_state()) {
      case ClientStream::Readable::Gone:
        self->awaiting_response_ = false;
        if (auto aborted = std::move(self->on_abort_)) aborted();
        return self->close();
      case ClientStream::Readable::Nothing:  // e.g. part of a TLS record: keep watching
        if (auto watch = std::move(self->on_abort_)) self->on_abort(std::move(watch));
        return;
      case ClientStream::Readable::SentData:  // a pipelined request: read after the answer
        return;
    }
  });
}

void HttpConnection::read_request() {
  parser_.emplace();
  parser_->header_limit(kHttpHeaderLimit);
  // Beast would check Content-Length against its default limit while parsing the header, before
  // the route (and its limit) is known: lift it here and apply the route's limit in on_header.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  // A request's header comes within the header timeout (a client sending it byte by byte holds a
  // connection no longer); one on the last descriptors must not hold one long at all.
  stream_.expires_after(in_reserve_ ? kReserveRequestTimeout : policy_->header_timeout);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](const boost::system::error_code& ec, size_t) { self->on_header(ec); });
}

void HttpConnection::on_header(const boost::system::error_code& ec) {
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
  stream_.expires_after(in_reserve_ ? kReserveRequestTimeout : kRequestTimeout);
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

void HttpConnection::dispatch() {
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
  transport_counters().bytes_in.fetch_add(request_.body.size(), std::memory_order_relaxed);
  request_.remote_address =
      router_.trusted_proxies().client_address(remote_address_, request_.header("x-forwarded-for"));
  body_too_large_ = false;
  parser_.reset();
  stream_.expires_never();
  awaiting_response_ = true;
  if (in_reserve_ && (!route_ || !route_->essential)) {
    transport_counters().descriptor_refusals.fetch_add(1, std::memory_order_relaxed);
    request_.keep_alive = false;
    return respond(HttpResponse::json(503, R"({"error":"the server is at its open-file limit: retry later"})")
                       .with("Retry-After", "1"));
  }
  if (!route_) return respond(HttpResponse::text(404, "Not Found"));
  route_->handler(shared_from_this());
}

void HttpConnection::respond_error_and_close(int status) {
  request_.keep_alive = false;
  awaiting_response_ = true;
  respond(HttpResponse::text(status, status == 431 ? "Request Header Fields Too Large" : "Bad Request"));
}

// and could destroy our response before it is read. Half-close, discard what arrives, then close.
void HttpConnection::drain_and_close() {
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(std::chrono::seconds(2));
  discard_input();
}

void HttpConnection::discard_input() {
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(size_t{16} * 1024),
                          [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                            if (ec) return self->close();
                            self->discard_input();
                          });
}

void HttpConnection::close() {
  if (taken_) return;
  on_abort_ = nullptr;
  stream_.close();
}

void serve_http(asio::ip::tcp::socket socket, const HttpRouter& router, LoopPool& pool, size_t loop,
                std::shared_ptr<const ConnectionPolicy> policy) {
  std::unique_ptr<TlsSession> session;
  if (policy->tls) {
    session = policy->tls->new_session(socket.native_handle());
    if (!session) {
      spdlog::warn("http: cannot start TLS for a connection (out of memory?)");
      return;  // the socket closes
    }
  }
  std::make_shared<HttpConnection>(std::move(socket), std::move(session), std::move(policy), router, pool, loop)
      ->start();
}

}  // namespace herald::net
