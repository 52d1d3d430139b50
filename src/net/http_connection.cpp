#include "net/http_connection.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <array>
#include <boost/asio/write.hpp>
#include <limits>

#include "net/frame_gather.hpp"
#include "net/http_connection_parts.hpp"
#include "net/http_response_head.hpp"
#include "net/transport_counters.hpp"

namespace herald::net {
namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(30);
// Health checks send their request at once; anything slower must not hold one of the last descriptors.
constexpr auto kReserveRequestTimeout = std::chrono::milliseconds(500);
constexpr size_t kDefaultBodyLimit = size_t{64} * 1024;
// Each read asks for the buffer's free room within these bounds (as Beast's reads did).
constexpr size_t kLeastRead = 512;
constexpr size_t kMostRead = size_t{64} * 1024;
// An answer body's room kept for the connection's next answers.
constexpr size_t kKeptAnswerRoom = size_t{4} * 1024;

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

// The answer is written at once from the loop when the socket takes it (almost always: it is
// small); only what it does not take waits for writability.
void HttpConnection::respond(HttpResponse response) {
  if (!awaiting_response_ || taken_) return;
  awaiting_response_ = false;
  on_abort_ = nullptr;
  if (watching_abort_) {
    boost::system::error_code ignored;
    stream_.socket().cancel(ignored);
    watching_abort_ = false;
  }
  bool keep_alive = request_.keep_alive && !request_.body_too_large;
  response_body_ = std::move(response.body);
  if (status_without_body(response.status)) response_body_.clear();
  write_response_head(response_head_, response, response_body_.size(), keep_alive);
  transport_counters().bytes_out.fetch_add(response_body_.size(), std::memory_order_relaxed);
  size_t sent = 0;
  if (!stream_.tls()) {
    FrameGather& gather = FrameGather::for_thread();
    gather.add(kRawOpcode, response_head_, 0);
    gather.add(kRawOpcode, response_body_, 0);
    ssize_t n = gather.send(stream_.socket().native_handle());
    if (n < 0) return close();
    sent = static_cast<size_t>(n);
  }
  size_t head = response_head_.size();
  if (sent == head + response_body_.size()) return after_response(keep_alive);
  std::array<asio::const_buffer, 2> rest{
      asio::buffer(response_head_) + std::min(sent, head),
      asio::buffer(response_body_) + (sent > head ? sent - head : 0),
  };
  stream_.expires_after(kRequestTimeout);
  asio::async_write(stream_, rest,
                    [self = shared_from_this(), keep_alive](const boost::system::error_code& ec, size_t) {
                      if (ec) return self->close();
                      self->after_response(keep_alive);
                    });
}

void HttpConnection::after_response(bool keep_alive) {
  // A large answer (a file, the metrics) does not keep its room for the small ones that follow.
  if (response_body_.capacity() > kKeptAnswerRoom) std::string().swap(response_body_);
  if (request_.body_too_large) return drain_and_close();
  if (!keep_alive) return close();
  read_request();
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
  parser_.emplace(request_);
  parser_->header_limit(kHttpHeaderLimit);
  // Beast would check Content-Length against its default limit while parsing the header, before
  // the route (and its limit) is known: lift it here and apply the route's limit in on_header.
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  reading_body_ = false;
  body_deadline_ = false;
  // A request's header comes within the header timeout (a client sending it byte by byte holds a
  // connection no longer); one on the last descriptors must not hold one long at all.
  stream_.expires_after(in_reserve_ ? kReserveRequestTimeout : policy_->header_timeout);
  // A request sent before the last answer (pipelined) is parsed on the next turn, never inside
  // the call that answered.
  if (buffer_.size() > 0)
    return asio::post(stream_.get_executor(), [self = shared_from_this()] { self->parse_request(); });
  read_more();
}

void HttpConnection::read_more() {
  // The body has its own deadline, set only when the body did not come with the header.
  if (reading_body_ && !body_deadline_) {
    body_deadline_ = true;
    stream_.expires_after(in_reserve_ ? kReserveRequestTimeout : kRequestTimeout);
  }
  size_t room = std::clamp<size_t>(buffer_.capacity() - buffer_.size(), kLeastRead, kMostRead);
  stream_.async_read_some(buffer_.prepare(room), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
    self->on_read(ec, n);
  });
}

void HttpConnection::on_read(boost::system::error_code ec, size_t bytes) {
  if (ec == asio::error::eof) {
    // The end of the stream ends a request half sent as a bad one (put_eof says so), and is the
    // client's goodbye between requests.
    if (!parser_->got_some()) return close();
    ec = {};
    parser_->put_eof(ec);
    return on_read_error(ec ? ec : http::error::partial_message);
  }
  if (ec) return on_read_error(ec);
  buffer_.commit(bytes);
  parse_request();
}

void HttpConnection::parse_request() {
  while (buffer_.size() > 0) {
    boost::system::error_code ec;
    size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) break;
    if (ec) return on_read_error(ec);
    if (!reading_body_ && parser_->is_header_done()) {
      reading_body_ = true;
      if (!on_header()) return;
    }
    if (parser_->is_done()) return dispatch();
  }
  read_more();
}

bool HttpConnection::on_header() {
  route_ = router_.match(request_.path);
  if (parser_->is_done() || parser_->upgrade()) {
    dispatch();
    return false;
  }
  size_t limit = route_ ? route_->body_limit : kDefaultBodyLimit;
  // Beast checks Content-Length against the limit while parsing the header, before the route is
  // known; check it here, and let the parser enforce the limit on chunked bodies.
  if (auto length = parser_->content_length(); length && *length > limit) {
    body_too_large_ = true;
    dispatch();
    return false;
  }
  parser_->body_limit(limit);
  return true;
}

void HttpConnection::on_read_error(const boost::system::error_code& ec) {
  if (reading_body_ && ec == http::error::body_limit) {
    body_too_large_ = true;
    return dispatch();
  }
  bool malformed = ec.category() == make_error_code(http::error::bad_method).category();
  if (malformed || (ec != asio::error::eof && ec != beast::error::timeout))
    spdlog::debug("http: bad request {} from {}: {}", reading_body_ ? "body" : "header", remote_address_, ec.message());
  if (ec == http::error::header_limit) return respond_error_and_close(431);
  if (malformed) return respond_error_and_close(400);
  close();
}

void HttpConnection::dispatch() {
  request_.keep_alive = parser_->keep_alive();
  request_.body_too_large = body_too_large_;
  if (body_too_large_) request_.body.clear();
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
