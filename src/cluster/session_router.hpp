// Routes requests for sessions of other processes (the session id names the owner) to that
// process, found in Redis (`herald:proc:<tag>` -> "host:port", refreshed while it lives). This is
// what makes sticky sessions unnecessary: any worker or node can take any request.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "cluster/cluster.hpp"
#include "net/http.hpp"

namespace herald::cluster {

class SessionRouter : public std::enable_shared_from_this<SessionRouter> {
 public:
  SessionRouter(Cluster& cluster, uint32_t process_tag, std::string host, uint16_t port);
  // Before the cluster starts.
  void start();
  // The Engine.IO server's handler for foreign sessions (any loop).
  void route(const std::shared_ptr<net::HttpExchange>& exchange, uint32_t process);

 private:
  struct Address {
    std::string host;
    uint16_t port = 0;
  };
  void announce();
  void keep_announcing();
  void forward(const std::shared_ptr<net::HttpExchange>& exchange, const Address& address);

  Cluster& cluster_;
  uint32_t process_tag_;
  Address own_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::mutex mutex_;
  std::unordered_map<uint32_t, Address> known_;
};

}  // namespace herald::cluster
