// Broadcasts with acknowledgements across nodes, both ends.
//
// AckRelay, on the node asked to deliver: reports to the requester how many sockets the broadcast
// reached here (one count for all loops), each client's ack and, for a Herald requester, the
// sockets that closed before acking. Acks come to the Redis loop (where the broadcast started)
// in bursts; a Herald requester gets each burst as one answer, flushed by a task posted to that
// loop behind the burst.
//
// AckWaiters, on the node that asked: the broadcasts waiting for other nodes' answers, and the
// answers handed to their handlers, each posted to the loop that started the broadcast.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/adapter_messages.hpp"
#include "net/loop_pool.hpp"

namespace herald::cluster {

class AckRelay : public std::enable_shared_from_this<AckRelay> {
 public:
  // Publishes an answer to the requester; called on the Redis loop.
  using Answer = std::function<void(const Body& answer)>;

  // `loops`: how many loops report their reach.
  AckRelay(net::LoopPool& pool, size_t redis_loop, std::string request_id, bool batch_acks, size_t loops,
           Answer answer);
  // The handlers for the local broadcast; they run on the Redis loop.
  socketio::BroadcastAckHandlers handlers();

 private:
  void reached(const std::vector<socketio::SocketInfo>& sockets);
  void acked(const socketio::SocketInfo& socket, socketio::Json& args);
  void dropped(const socketio::SocketInfo& socket);
  void flush_acks();

  net::LoopPool& pool_;
  const size_t redis_loop_;
  const std::string request_id_;
  const bool batch_acks_;
  Answer answer_;
  size_t loops_left_;
  msg::ClientCount reach_;
  msg::Acks batch_;  // acks not yet answered (batch_acks_ only)
  bool flush_posted_ = false;
  // Sockets closed before every loop reported its reach: answered after the count, which the
  // requester needs first to know whom a drop leaves without an open socket.
  std::vector<socketio::SocketInfo> dropped_before_count_;
};

class AckWaiters {
 public:
  explicit AckWaiters(net::LoopPool& pool) : pool_(pool) {}

  // Redis loop. `origin`: the loop the handlers run on; the entry is dropped after `expires`.
  void add(const std::string& request_id, std::shared_ptr<socketio::BroadcastAckHandlers> handlers, size_t origin,
           net::Clock::time_point expires);
  // Redis loop: an answer; false when no broadcast waits for it.
  bool answer(Body& body);
  size_t waiting() const { return waiters_.size(); }

 private:
  struct Waiter {
    std::shared_ptr<socketio::BroadcastAckHandlers> handlers;
    size_t origin;
    net::Clock::time_point expires;
  };
  using Expiry = std::pair<net::Clock::time_point, std::string>;
  const Waiter* find(const std::string& request_id) const;
  void drop_expired(net::Clock::time_point now);

  net::LoopPool& pool_;
  std::unordered_map<std::string, Waiter> waiters_;
  // The waiters' expiries, soonest first: each add drops the expired ones without walking them all
  // (at thousands of acked pushes a second, a walk per add took a fifth of a node's CPU).
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiries_;
};

}  // namespace herald::cluster
