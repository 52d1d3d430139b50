#include "net/listener.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>

#include "net/http_connection.hpp"

namespace herald::net {

using tcp = asio::ip::tcp;

Listener::Listener(LoopPool& pool, size_t loop, const HttpRouter& router)
    : pool_(pool), loop_(loop), router_(router), acceptor_(pool.loop(loop)) {}

void Listener::listen(const std::string& host, uint16_t port) {
  tcp::endpoint endpoint(asio::ip::make_address(host), port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  int one = 1;
  if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    throw boost::system::system_error(errno, boost::system::system_category(), "SO_REUSEPORT");
  acceptor_.bind(endpoint);
  acceptor_.listen(4096);
}

uint16_t Listener::port() const { return acceptor_.local_endpoint().port(); }

void Listener::start() { accept(); }

void Listener::stop() {
  // With SO_REUSEPORT every listener has a queue of its own, and closing it resets the connections
  // still waiting there (the kernel moves them to another listener only with the
  // net.ipv4.tcp_migrate_req sysctl). Take them first, so that a worker being replaced, or a
  // node shutting down beside others, drops no client that already connected.
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
  serve_http(std::move(socket), router_, pool_, loop_);
}

void Listener::accept() {
  acceptor_.async_accept(pool_.loop(loop_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                        tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors (or similar): back off briefly instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
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

std::vector<std::shared_ptr<Listener>> listen_on_every_loop(LoopPool& pool, const HttpRouter& router,
                                                            const std::string& host, uint16_t port) {
  std::vector<std::shared_ptr<Listener>> listeners;
  for (size_t loop = 0; loop < pool.size(); ++loop) {
    auto listener = std::make_shared<Listener>(pool, loop, router);
    listener->listen(host, port);
    if (port == 0) port = listener->port();
    listeners.push_back(listener);
  }
  for (size_t loop = 0; loop < listeners.size(); ++loop)
    pool.post(loop, [listener = listeners[loop]] { listener->start(); });
  return listeners;
}

}  // namespace herald::net
