// HTTP requests and responses as the layers above see them: plain structs, no Beast types, so
// that Beast's heavy templates stay inside http_connection.cpp.
#pragma once

#include "net/trusted_proxies.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::net {

// The most header bytes an HTTP message may have, requests and forwarded answers alike.
inline constexpr size_t kHttpHeaderLimit = size_t{16} * 1024;

class WebSocket;
struct WebSocketLimits;
class ConnectionsPerAddress;
class TlsContext;

// How a port lets connections in, before their first request.
struct ConnectionPolicy {
  // The certificate when the port speaks TLS (it outlives the listeners), or nullptr.
  const TlsContext* tls = nullptr;
  // Time a request's header may take (counted from when the server waits for it), and the opening
  // (PROXY header, TLS handshake) too: slow senders do not hold connections longer.
  std::chrono::milliseconds header_timeout{10000};
  // Connections from --trusted-proxies begin with a PROXY protocol header (v1 or v2), which gives
  // the client's address; one without it is refused.
  bool proxy_protocol = false;
  // Open HTTP connections per client address (null: no limit).
  std::shared_ptr<ConnectionsPerAddress> per_address;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// Why a WebSocket upgrade request cannot be answered 101 (RFC 6455 4.2.1), if it can't.
enum class WebSocketHandshakeError : uint8_t {
  None,
  BadKey,      // Sec-WebSocket-Key missing, or not 16 bytes in base64
  BadVersion,  // Sec-WebSocket-Version missing, or not 13
};

struct HttpRequest {
  std::string method;  // upper case, as sent
  std::string target;
  std::string path;   // target up to '?'
  std::string query;  // after '?', raw
  Headers headers;    // names in lower case
  std::string body;
  std::string remote_address;
  bool keep_alive = true;
  bool body_too_large = false;  // the body passed its route's limit and was not read

  std::string_view header(std::string_view lower_name) const;
  // First value of a query parameter, percent-decoded.
  std::optional<std::string> query_param(std::string_view name) const;
  bool is_websocket_upgrade() const;
  // Checks the handshake headers of a WebSocket upgrade.
  WebSocketHandshakeError websocket_handshake_error() const;
};

struct HttpResponse {
  int status = 200;
  Headers headers;
  std::string body;

  static HttpResponse text(int status, std::string body, std::string content_type = "text/plain; charset=UTF-8");
  static HttpResponse json(int status, std::string body);
  HttpResponse& with(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// One request in flight on one connection. The connection waits (reads nothing more) until the
// handler responds, which may be much later (long-polling), or takes the socket (WebSocket).
// Every method must be called on the connection's loop.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  virtual const HttpRequest& request() const = 0;
  virtual size_t loop() const = 0;
  virtual void respond(HttpResponse response) = 0;
  // Called once if the client goes away before the response is written.
  virtual void on_abort(std::function<void()> callback) = 0;
  // Completes the WebSocket handshake and hands the TCP socket to a new WebSocket.
  virtual std::shared_ptr<WebSocket> accept_websocket(const WebSocketLimits& limits) = 0;
  // Moves the connection to another loop; `then` runs there with the same request.
  virtual void move_to(size_t loop, std::function<void(std::shared_ptr<HttpExchange>)> then) = 0;
  // Serves the request by the process at host:port, which owns its session: the request is
  // forwarded there and its answer written back, and the connection goes on reading requests here
  // (a WebSocket upgrade instead hands the connection over: it relays bytes both ways from then on).
  // `unreachable` is answered when that process cannot be reached.
  virtual void tunnel_to(const std::string& host, uint16_t port, HttpResponse unreachable) = 0;
};

using HttpHandler = std::function<void(std::shared_ptr<HttpExchange>)>;

// Routes by path prefix, first match wins. Immutable once the listeners start.
class HttpRouter {
 public:
  // `essential` routes (health checks) are still served on the connections that take the last
  // descriptors, which serve nothing else (see set_descriptor_reserve).
  void add(std::string prefix, size_t body_limit, HttpHandler handler, bool essential = false);
  struct Route {
    std::string prefix;
    size_t body_limit;
    HttpHandler handler;
    bool essential;
  };
  const Route* match(std::string_view path) const;
  // A connection whose descriptor is `first_reserved_fd` or above came in when only the reserve was
  // left (the kernel gives the lowest free number): it gets the essential routes only, so that
  // /health still answers when clients exhaust the open-file limit. Set before the loops run.
  void set_descriptor_reserve(int first_reserved_fd) { first_reserved_fd_ = first_reserved_fd; }
  bool in_reserve(int fd) const { return fd >= first_reserved_fd_; }
  // Proxies whose X-Forwarded-For gives the client address (set before the loops run).
  void set_trusted_proxies(TrustedProxies proxies) { proxies_ = std::move(proxies); }
  const TrustedProxies& trusted_proxies() const { return proxies_; }

 private:
  std::vector<Route> routes_;
  TrustedProxies proxies_;
  int first_reserved_fd_ = std::numeric_limits<int>::max();
};

// Form values (`plus_is_space`) turn '+' into ' '; URL paths keep it.
std::string percent_decode(std::string_view text, bool plus_is_space = true);
// Whether `origin` is in a --cors-origins list ("*" stands for any origin).
bool origin_listed(const std::vector<std::string>& origins, std::string_view origin);
// The decoded value of `name` in a query string (without '?'); nullopt when absent.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace herald::net
