#include "net/forward.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string_view>

#include "net/upstream_pool.hpp"

namespace herald::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto kConnectTimeout = std::chrono::seconds(3);
// The owner is a peer of this cluster and bounds a polling body by maxPayload (at most 1 GiB).
constexpr uint64_t kBodyLimit = (uint64_t{1} << 30) + uint64_t{64} * 1024;

// Headers about one connection, not the message: each hop sets its own. (The body goes out with
// the header, so an Expect: 100-continue has nothing left to ask.)
bool hop_by_hop(std::string_view lower_name) {
  for (std::string_view name : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "content-length",
                                "te", "trailer", "upgrade", "expect"})
    if (lower_name == name) return true;
  return false;
}

bool hop_by_hop(http::field field) {
  switch (field) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::transfer_encoding:
    case http::field::content_length:
    case http::field::te:
    case http::field::trailer:
    case http::field::upgrade:
      return true;
    default:
      return false;
  }
}

std::string serialize(const HttpRequest& request) {
  std::string bytes = request.method + " " + request.target + " HTTP/1.1\r\n";
  for (const auto& [name, value] : request.headers) {
    if (hop_by_hop(name)) continue;
    bytes.append(name).append(": ").append(value).append("\r\n");
  }
  // The body was read whole (and de-chunked): its length is known.
  if (!request.body.empty() || (request.method != "GET" && request.method != "HEAD"))
    bytes += "content-length: " + std::to_string(request.body.size()) + "\r\n";
  bytes += "\r\n";
  bytes += request.body;
  return bytes;
}

// The owner host may vanish without a FIN while a long-poll waits (no deadline on it): probe.
void keep_probing(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  int idle = 30, interval = 10, count = 3;
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

class Forwarding final : public Forward, public std::enable_shared_from_this<Forwarding> {
 public:
  Forwarding(const asio::any_io_executor& executor, const HttpRequest& request, std::string host, uint16_t port,
             ForwardDone done)
      : executor_(executor),
        host_(std::move(host)),
        port_(port),
        bytes_(serialize(request)),
        head_(request.method == "HEAD"),
        done_(std::move(done)) {}

  void start() {
    if (!done_) return;
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host_, ec);
    if (ec) return fail("bad owner address " + host_);
    owner_ = tcp::endpoint(address, port_);
    if (auto socket = UpstreamPool::of(executor_).take(owner_)) {
      reused_ = true;
      stream_.emplace(std::move(*socket));
      return send();
    }
    connect();
  }

  void cancel() override {
    done_ = nullptr;
    close();
  }

 private:
  void connect() {
    reused_ = false;
    stream_.emplace(executor_);
    stream_->expires_after(kConnectTimeout);
    stream_->async_connect(owner_, [self = shared_from_this()](const boost::system::error_code& ec) {
      if (!self->done_) return;
      if (ec) return self->fail("cannot reach " + self->where() + ": " + ec.message());
      keep_probing(self->stream_->socket());
      self->send();
    });
  }

  void send() {
    stream_->expires_after(kConnectTimeout);
    asio::async_write(*stream_, asio::buffer(bytes_),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        if (!self->done_) return;
                        if (ec) return self->retry_or_fail(ec);
                        self->receive();
                      });
  }

  void receive() {
    // A long-poll is answered within the owner's pingInterval, which this layer does not know: no
    // deadline; the client's abort (cancel) or TCP keepalive ends a wait that would never complete.
    stream_->expires_never();
    parser_.emplace();
    parser_->header_limit(kHttpHeaderLimit);
    parser_->body_limit(kBodyLimit);
    parser_->skip(head_);
    http::async_read(*stream_, buffer_, *parser_,
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       if (!self->done_) return;
                       if (ec) return self->retry_or_fail(ec);
                       self->finish();
                     });
  }

  void retry_or_fail(const boost::system::error_code& ec) {
    // A pooled connection the owner closed as we took it: it answered nothing, so it did nothing
    // (or died, and its sessions with it). Once, on a new connection.
    if (reused_ && !(parser_ && parser_->got_some())) {
      close();
      buffer_.clear();
      parser_.reset();
      return connect();
    }
    fail(where() + ": " + ec.message());
  }

  void finish() {
    auto& message = parser_->get();
    HttpResponse response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message)
      if (!hop_by_hop(field.name())) response.headers.emplace_back(field.name_string(), field.value());
    response.body = std::move(message.body());
    if (parser_->keep_alive() && buffer_.size() == 0)
      UpstreamPool::of(executor_).give_back(owner_, stream_->release_socket());
    else
      close();
    stream_.reset();
    parser_.reset();
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(response));
  }

  void fail(const std::string& why) {
    spdlog::warn("forward: {}", why);
    close();
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::nullopt);
  }

  void close() {
    if (!stream_) return;
    boost::system::error_code ignored;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_->close();
  }

  std::string where() const { return host_ + ":" + std::to_string(port_); }

  asio::any_io_executor executor_;
  std::string host_;
  uint16_t port_;
  tcp::endpoint owner_;
  std::string bytes_;
  bool head_;
  bool reused_ = false;
  ForwardDone done_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

}  // namespace

std::shared_ptr<Forward> forward_request(const asio::any_io_executor& executor, const HttpRequest& request,
                                         const std::string& host, uint16_t port, ForwardDone done) {
  auto forwarding = std::make_shared<Forwarding>(executor, request, host, port, std::move(done));
  // Start later, so `done` never runs before the caller holds the handle.
  asio::post(executor, [forwarding] { forwarding->start(); });
  return forwarding;
}

}  // namespace herald::net
