// Accepts TCP connections on one loop. Every loop has its own acceptor on the same address with
// SO_REUSEPORT, so the kernel spreads new connections across loops (and across worker processes).
// Under the supervisor the listening sockets are opened once by the supervisor and inherited by
// the workers, so a worker that exits never closes one (see open_listening_socket).
#pragma once

#include <chrono>

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <vector>

#include "net/http.hpp"
#include "net/loop_pool.hpp"

namespace herald::net {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(LoopPool& pool, size_t loop, const HttpRouter& router,
           std::shared_ptr<const ConnectionPolicy> policy = std::make_shared<ConnectionPolicy>());
  // Binds and listens; throws boost::system::system_error if the address cannot be used.
  void listen(const std::string& host, uint16_t port);
  // Takes a listening socket made by open_listening_socket (in this or a parent process).
  void adopt(int fd);
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
  std::shared_ptr<const ConnectionPolicy> policy_;
  asio::ip::tcp::acceptor acceptor_;
  std::chrono::steady_clock::time_point last_accept_warning_{};
};

}  // namespace herald::net

namespace herald::net {

// A bound SO_REUSEPORT socket listening on host:port (close-on-exec). Throws
// boost::system::system_error if the address cannot be used.
//
// Why the supervisor opens them: a listening socket has a queue of its own in its SO_REUSEPORT
// group, and when its last descriptor closes the kernel resets every connection still queued or
// half-open there (unless net.ipv4.tcp_migrate_req is set). If each worker opened its own, every
// worker replaced by a reload would reset the clients that connected in its last instant. A socket
// the supervisor keeps open outlives the worker: the worker that replaces it inherits the same
// socket and accepts what is waiting.
int open_listening_socket(const std::string& host, uint16_t port);
// The port a bound socket got (for port 0).
uint16_t local_port(int fd);

// Opens one SO_REUSEPORT listener per loop on host:port and starts accepting. With port 0 the
// first listener picks a port and the others share it.
std::vector<std::shared_ptr<Listener>> listen_on_every_loop(LoopPool& pool, const HttpRouter& router,
                                                            const std::string& host, uint16_t port,
                                                            const ConnectionPolicy& policy = {});

// Starts accepting on listening sockets opened elsewhere, one per loop (fds.size() == pool.size()).
std::vector<std::shared_ptr<Listener>> adopt_on_every_loop(LoopPool& pool, const HttpRouter& router,
                                                           const std::vector<int>& fds,
                                                           const ConnectionPolicy& policy = {});

}  // namespace herald::net
