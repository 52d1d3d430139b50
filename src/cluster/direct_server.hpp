// The receiving end of direct links (cluster/direct_adapter.hpp): another Herald node opens one to
// this node's internal port (GET /herald/direct, Upgrade: herald-direct, the API token when one is
// set), then sends pushes for users whose sockets are here. Each is delivered to those sockets on
// every loop, and answered on the link as the Redis path answers a broadcast with acks: the sockets
// reached (one report for all loops), then each ack and each socket that closed before acking.
#pragma once

#include <memory>
#include <string>

#include "net/http.hpp"
#include "net/loop_pool.hpp"
#include "socketio/namespace.hpp"

namespace herald::cluster {

class DirectServer : public std::enable_shared_from_this<DirectServer> {
 public:
  static constexpr const char* kPath = "/herald/direct";

  DirectServer(net::LoopPool& pool, socketio::Namespace& nsp, std::string token);
  // The route's handler (internal port only).
  void accept(const std::shared_ptr<net::HttpExchange>& exchange);

 private:
  net::LoopPool& pool_;
  socketio::Namespace& nsp_;
  std::string token_;
};

}  // namespace herald::cluster
