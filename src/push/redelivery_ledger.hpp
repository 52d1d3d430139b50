// Which kept pushes each socket was sent again, so that a socket gets each of them once until it
// answers, and not again for a while after it acked: a busy moment announces the same user's
// pending pushes many times (each push kept for it while it is away), and the store may still
// list a push whose ack is on its way there. One per loop: only that loop's sockets, no lock.
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>

#include "net/clock.hpp"

namespace herald::push {

class RedeliveryLedger {
 public:
  using Clock = net::Clock;  // the loops' clock (a manual one in tests)
  // `quiet`: how long after a socket's ack the push is not sent to that socket again.
  explicit RedeliveryLedger(Clock::duration quiet = std::chrono::seconds(10)) : quiet_(quiet) {}

  // Whether `msg_id` may be sent to socket `sid` now: not while an earlier send waits for its
  // answer, nor within `quiet` of its ack. When true, the send is waiting for its answer.
  bool begin(const std::string& sid, const std::string& msg_id, Clock::time_point now);
  // The socket answered the send (`acked`), or it did not (timed out, or the socket closed: it
  // may be sent again).
  void answered(const std::string& sid, const std::string& msg_id, bool acked, Clock::time_point now);

  size_t sockets() const { return sockets_.size(); }

 private:
  struct Sent {
    bool waiting = true;
    Clock::time_point quiet_until{};
  };
  // Forgets acks older than `quiet`, at most once per `quiet`.
  void prune(Clock::time_point now);

  Clock::duration quiet_;
  std::unordered_map<std::string, std::unordered_map<std::string, Sent>> sockets_;  // sid -> msgId
  Clock::time_point next_prune_{};
};

}  // namespace herald::push
