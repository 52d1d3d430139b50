// A connection's opening, before its first request: the PROXY protocol header from a trusted load
// balancer (the client's address), the per-address connection limit, the TLS handshake.
#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <array>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "net/connection_limits.hpp"
#include "net/http_connection_parts.hpp"
#include "net/http_response_head.hpp"
#include "net/proxy_protocol.hpp"
#include "net/transport_counters.hpp"

namespace herald::net {
namespace {

// Health checks send their request at once; anything slower must not hold one of the last descriptors.
constexpr auto kReserveTimeout = std::chrono::milliseconds(500);

bool trusted_peer(const TrustedProxies& proxies, const std::string& address) {
  boost::system::error_code ec;
  auto parsed = asio::ip::make_address(address, ec);
  return !ec && proxies.trusted(parsed);
}

}  // namespace

void HttpConnection::start() {
  boost::system::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_address_ = endpoint.address().to_string();
  const ConnectionPolicy& policy = *policy_;
  stream_.expires_after(in_reserve_ ? kReserveTimeout : policy.header_timeout);
  // Only a trusted proxy's PROXY header is read. From anyone else it is not a header but the first
  // bytes of a request (a bad one: 400), so a client cannot choose its address.
  if (policy.proxy_protocol && trusted_peer(router_.trusted_proxies(), remote_address_)) return read_proxy_header();
  admit();
}

// What has come of the header is consumed (all of it belongs to the header while it is
// incomplete), so waiting for more does not wake at once; the end is peeked, then exactly the
// header is read, and the client's bytes stay in the socket for TLS or HTTP.
void HttpConnection::read_proxy_header() {
  stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec) return self->close();
    self->on_proxy_bytes();
  });
}

void HttpConnection::on_proxy_bytes() {
  thread_local std::array<char, kMaxProxyHeader> peeked;
  int fd = stream_.socket().native_handle();
  size_t have = proxy_bytes_.size();
  ssize_t n = ::recv(fd, peeked.data(), peeked.size() - have, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return read_proxy_header();
  if (n <= 0) return close();
  std::string bytes = proxy_bytes_;
  bytes.append(peeked.data(), static_cast<size_t>(n));
  ProxyHeader header = parse_proxy_header(bytes);
  size_t take = header.status == ProxyHeader::Status::Done ? header.length - have : static_cast<size_t>(n);
  if (header.status != ProxyHeader::Status::Invalid && ::recv(fd, peeked.data(), take, MSG_DONTWAIT) != ssize_t(take))
    return close();
  if (header.status == ProxyHeader::Status::Incomplete) {
    proxy_bytes_ = std::move(bytes);
    return read_proxy_header();
  }
  std::string().swap(proxy_bytes_);
  if (header.status == ProxyHeader::Status::Invalid) {
    transport_counters().proxy_protocol_refusals.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("http: refused a connection from proxy {}: {}", remote_address_, header.error);
    return close();
  }
  if (header.source) remote_address_ = *header.source;
  admit();
}

void HttpConnection::admit() {
  const ConnectionPolicy& policy = *policy_;
  // A proxy's connections carry many clients: they are not counted as one client's.
  if (policy.per_address && !trusted_peer(router_.trusted_proxies(), remote_address_)) {
    address_slot_ = policy.per_address->acquire(remote_address_);
    if (!address_slot_) {
      transport_counters().connections_refused.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("http: too many connections from {}", remote_address_);
      // The TLS port cannot say why without a handshake, which is what the limit saves.
      if (stream_.tls()) return close();
      static const std::string kAnswer =
          whole_response(HttpResponse::text(503, "Too many connections from your address: retry later\n"));
      return write_plain_and_close(kAnswer);
    }
  }
  if (!stream_.tls()) return read_request();
  stream_.async_handshake([self = shared_from_this()](HandshakeOutcome outcome) { self->on_tls_handshake(outcome); });
}

void HttpConnection::on_tls_handshake(HandshakeOutcome outcome) {
  if (outcome == HandshakeOutcome::Done) {
    spdlog::trace("http: TLS from {}: {}", remote_address_, stream_.tls()->describe());
    return read_request();
  }
  if (outcome == HandshakeOutcome::PlainHttp) {
    transport_counters().tls_plain_http_refused.fetch_add(1, std::memory_order_relaxed);
    // A plain answer that says so (as nginx does), not a TLS alert the client cannot read.
    static const std::string kAnswer =
        whole_response(HttpResponse::text(400, "This port speaks HTTPS (TLS) only: use https:// or wss://\n"));
    stream_.release_tls();
    return write_plain_and_close(kAnswer);
  }
  transport_counters().tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("http: TLS handshake with {} failed or timed out", remote_address_);
  close();
}

void HttpConnection::write_plain_and_close(const std::string& answer) {
  stream_.expires_after(std::chrono::seconds(2));
  asio::async_write(stream_.socket(), asio::buffer(answer),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      if (ec) return self->close();
                      // Unread request bytes would turn the close into a reset that can destroy the answer.
                      self->drain_and_close();
                    });
}

}  // namespace herald::net
