#include "net/listener.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>
#include <boost/asio/steady_timer.hpp>

#include "net/http_connection.hpp"

namespace herald::net {

using tcp = asio::ip::tcp;

namespace {

// The address a socket is bound to (getsockname); throws when the descriptor is not a socket.
sockaddr_storage bound_address(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw boost::system::system_error(errno, boost::system::system_category(), "getsockname");
  return address;
}

}  // namespace

Listener::Listener(LoopPool& pool, size_t loop, const HttpRouter& router,
                   std::shared_ptr<const ConnectionPolicy> policy)
    : pool_(pool), loop_(loop), router_(router), policy_(std::move(policy)), acceptor_(pool.loop(loop)) {}

void Listener::listen(const std::string& host, uint16_t port) { adopt(open_listening_socket(host, port)); }

void Listener::adopt(int fd) {
  sockaddr_storage address{};
  try {
    address = bound_address(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  acceptor_.assign(address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd);
}

uint16_t Listener::port() const { return acceptor_.local_endpoint().port(); }

void Listener::start() { accept(); }

void Listener::stop() {
  // With SO_REUSEPORT every listener has a queue of its own, and closing it resets the connections
  // still waiting there (see open_listening_socket). Take them first, so that a node shutting down
  // beside others drops no client that already connected. (A socket inherited from the supervisor
  // stays open after this; its queue then waits for the next worker.)
  boost::system::error_code ec;
  acceptor_.non_blocking(true, ec);
  size_t taken = 0;
  while (!ec) {
    tcp::socket socket(pool_.loop(loop_));
    acceptor_.accept(socket, ec);
    if (ec) break;
    serve(std::move(socket));
    ++taken;
  }
  if (taken > 0) spdlog::debug("listener: served {} queued connections before closing", taken);
  acceptor_.close(ec);
}

void Listener::serve(tcp::socket socket) {
  // Small frames (pings, acks, API replies) must not wait for Nagle's algorithm.
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  serve_http(std::move(socket), router_, pool_, loop_, policy_);
}

void Listener::accept() {
  acceptor_.async_accept(pool_.loop(loop_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                        tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors (or similar): back off briefly instead of spinning, and say so
      // once in a while, not on every retry.
      auto now = std::chrono::steady_clock::now();
      if (now - self->last_accept_warning_ > std::chrono::seconds(10)) {
        self->last_accept_warning_ = now;
        spdlog::warn("accept failed: {} (retrying every 50 ms)", ec.message());
      }
      auto timer = std::make_shared<asio::steady_timer>(self->pool_.loop(self->loop_), std::chrono::milliseconds(50));
      timer->async_wait([self, timer](const boost::system::error_code&) { self->accept(); });
      return;
    }
    self->serve(std::move(socket));
    self->accept();
  });
}

}  // namespace herald::net

namespace herald::net {

int open_listening_socket(const std::string& host, uint16_t port) {
  tcp::endpoint endpoint(asio::ip::make_address(host), port);
  asio::io_context unused;
  tcp::acceptor acceptor(unused);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    throw boost::system::system_error(errno, boost::system::system_category(), "SO_REUSEPORT");
  acceptor.bind(endpoint);
  acceptor.listen(4096);
  return acceptor.release();
}

uint16_t local_port(int fd) {
  sockaddr_storage address = bound_address(fd);
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

namespace {

std::vector<std::shared_ptr<Listener>> start_every(LoopPool& pool, std::vector<std::shared_ptr<Listener>> listeners) {
  for (size_t loop = 0; loop < listeners.size(); ++loop)
    pool.post(loop, [listener = listeners[loop]] { listener->start(); });
  return listeners;
}

}  // namespace

std::vector<std::shared_ptr<Listener>> listen_on_every_loop(LoopPool& pool, const HttpRouter& router,
                                                            const std::string& host, uint16_t port,
                                                            const ConnectionPolicy& policy) {
  auto shared = std::make_shared<const ConnectionPolicy>(policy);
  std::vector<std::shared_ptr<Listener>> listeners;
  for (size_t loop = 0; loop < pool.size(); ++loop) {
    auto listener = std::make_shared<Listener>(pool, loop, router, shared);
    listener->listen(host, port);
    if (port == 0) port = listener->port();
    listeners.push_back(listener);
  }
  return start_every(pool, std::move(listeners));
}

std::vector<std::shared_ptr<Listener>> adopt_on_every_loop(LoopPool& pool, const HttpRouter& router,
                                                           const std::vector<int>& fds,
                                                           const ConnectionPolicy& policy) {
  auto shared = std::make_shared<const ConnectionPolicy>(policy);
  std::vector<std::shared_ptr<Listener>> listeners;
  for (size_t loop = 0; loop < pool.size(); ++loop) {
    auto listener = std::make_shared<Listener>(pool, loop, router, shared);
    listener->adopt(fds.at(loop));
    listeners.push_back(listener);
  }
  return start_every(pool, std::move(listeners));
}

}  // namespace herald::net
