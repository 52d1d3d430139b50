// Accepts TCP connections on one loop. Every loop opens its own acceptor on the same address with
// SO_REUSEPORT, so the kernel spreads new connections across loops (and across worker processes).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <vector>

#include "net/http.hpp"
#include "net/loop_pool.hpp"

namespace herald::net {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(LoopPool& pool, size_t loop, const HttpRouter& router);
  // Binds and listens; throws boost::system::system_error if the address cannot be used.
  void listen(const std::string& host, uint16_t port);
  void start();
  // Serves the connections already queued, then closes (on the listener's loop).
  void stop();
  uint16_t port() const;
  size_t loop() const { return loop_; }

 private:
  void accept();
  void serve(asio::ip::tcp::socket socket);

  LoopPool& pool_;
  size_t loop_;
  const HttpRouter& router_;
  asio::ip::tcp::acceptor acceptor_;
};

}  // namespace herald::net

namespace herald::net {

// Opens one SO_REUSEPORT listener per loop on host:port and starts accepting. With port 0 the
// first listener picks a port and the others share it.
std::vector<std::shared_ptr<Listener>> listen_on_every_loop(LoopPool& pool, const HttpRouter& router,
                                                            const std::string& host, uint16_t port);

}  // namespace herald::net
