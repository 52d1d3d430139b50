// Timers for many objects on one loop that each wait one of a few fixed delays (heartbeats). An
// Asio timer per object costs about 250 bytes (the timer, its pending wait, its heap entry); here an
// object costs one queue entry per pending deadline.
//
// Deadlines of one delay are scheduled in time order (now + the same delay), so a FIFO per delay
// replaces a heap, and one alarm per loop, armed at the earliest front, serves them all. Time comes
// from the loop pool's net::Clock (a manual one in tests). Cancelling is lazy: the owner forgets the
// deadline it no longer wants, and the entry is dropped when it comes due. Owners are held weakly.
// Use on the loop's thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>

#include "net/clock.hpp"

namespace herald::net {

template <class Owner>  // Owner::on_deadline(Clock::time_point) is called for each due deadline
class FixedDelayTimers {
 public:
  using Clock = net::Clock;

  explicit FixedDelayTimers(boost::asio::io_context& loop, Clock& clock = Clock::steady())
      : clock_(clock), alarm_(loop, clock) {}
  FixedDelayTimers(const FixedDelayTimers&) = delete;
  FixedDelayTimers& operator=(const FixedDelayTimers&) = delete;

  // Calls owner->on_deadline(deadline) once `delay` has passed, if the owner still exists then.
  // Returns that deadline, for the owner to recognise it.
  Clock::time_point schedule(const std::shared_ptr<Owner>& owner, Clock::duration delay) {
    auto deadline = clock_.now() + delay;
    queues_[delay].push_back(Entry{owner, deadline});
    if (!firing_ && (!armed_ || deadline < armed_at_)) arm(deadline);
    return deadline;
  }

  // Entries still queued, stale ones included (for tests and metrics).
  size_t pending() const {
    size_t count = 0;
    for (const auto& [delay, queue] : queues_) count += queue.size();
    return count;
  }

 private:
  struct Entry {
    std::weak_ptr<Owner> owner;
    Clock::time_point deadline;
  };

  void arm(Clock::time_point at) {
    armed_ = true;
    armed_at_ = at;
    alarm_.set(at, [this, at] {
      // A re-armed alarm replaces the wake-up it had; only the latest one counts.
      if (!armed_ || armed_at_ != at) return;
      armed_ = false;
      fire();
    });
  }

  void fire() {
    firing_ = true;
    auto now = clock_.now();
    for (auto& [delay, queue] : queues_) {
      // The callback may schedule again, appending to this queue: front() and pop_front() stay valid.
      while (!queue.empty() && queue.front().deadline <= now) {
        Entry entry = std::move(queue.front());
        queue.pop_front();
        if (auto owner = entry.owner.lock()) owner->on_deadline(entry.deadline);
      }
    }
    firing_ = false;
    std::optional<Clock::time_point> next;
    for (auto it = queues_.begin(); it != queues_.end();) {
      if (it->second.empty()) {
        it = queues_.erase(it);
        continue;
      }
      if (!next || it->second.front().deadline < *next) next = it->second.front().deadline;
      ++it;
    }
    if (next) arm(*next);
  }

  Clock& clock_;
  Alarm alarm_;
  std::map<Clock::duration, std::deque<Entry>> queues_;
  bool armed_ = false;
  bool firing_ = false;
  Clock::time_point armed_at_{};
};

}  // namespace herald::net
