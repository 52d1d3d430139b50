// The time the loops' timers read, and the one-shot alarms built on it.
//
// A program runs on the steady clock. A test makes a manual clock, hands it to the LoopPool, and
// moves it with advance(), which runs each alarm that comes due on the way, at its time and in
// deadline order: heartbeat, timer-order and expiry tests then take no real time and can be neither
// late nor early (Envoy's simulated time does the same).
//
// Not virtual: now() is one well-predicted branch in front of steady_clock::now(), because the
// per-event paths (a heartbeat rescheduled on every packet) read it; an Alarm on the steady clock
// is an Asio timer and nothing more.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace herald::net {

class Alarm;

class Clock {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;

  // The real clock, shared by everything that is not given another.
  static Clock& steady();
  // A clock that stands still until advance(), starting at `start`.
  static std::unique_ptr<Clock> manual(time_point start = time_point{} + std::chrono::hours(1));

  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;
  ~Clock();

  time_point now() const { return manual_ ? manual_now_ : std::chrono::steady_clock::now(); }
  bool is_manual() const { return manual_; }

  // Manual clocks only: moves time forward by `by`, running on the way each alarm that comes due,
  // with now() at its time, earliest first (one set by a callback for a time within the step runs
  // too). Call it on the thread that runs the alarms' loops, outside their handlers.
  void advance(duration by);
  // Manual clocks only: alarms set and not yet run.
  size_t alarms() const { return alarms_.size(); }

 private:
  friend class Alarm;
  struct Pending {
    Alarm* alarm;
    time_point at;
    uint64_t order;  // alarms due at the same time run in the order they were set
    std::function<void()> callback;
  };

  explicit Clock(bool manual, time_point start = {}) : manual_(manual), manual_now_(start) {}
  void set(Alarm* alarm, time_point at, std::function<void()> callback);
  void cancel(Alarm* alarm);

  const bool manual_;
  time_point manual_now_;
  uint64_t next_order_ = 0;
  std::vector<Pending> alarms_;  // manual clocks only; a handful in a test
};

// A one-shot wake-up on a loop at a time of a Clock. Setting it again replaces the wake-up it had;
// cancel() and the destructor drop it. On the steady clock the callback runs as the handler of an
// Asio timer, so a wake-up already due when it is replaced may still run: callbacks check the time.
class Alarm {
 public:
  Alarm(boost::asio::io_context& loop, Clock& clock) : clock_(clock), timer_(loop) {}
  Alarm(const Alarm&) = delete;
  Alarm& operator=(const Alarm&) = delete;
  ~Alarm() {
    if (clock_.is_manual()) clock_.cancel(this);
  }

  void set(Clock::time_point at, std::function<void()> callback) {
    at_ = at;
    if (clock_.is_manual()) return clock_.set(this, at, std::move(callback));
    timer_.expires_at(at);
    timer_.async_wait([callback = std::move(callback)](const boost::system::error_code& ec) {
      if (!ec) callback();
    });
  }
  void cancel() {
    if (clock_.is_manual()) return clock_.cancel(this);
    timer_.cancel();
  }
  // The time last set.
  Clock::time_point at() const { return at_; }

 private:
  Clock& clock_;
  boost::asio::steady_timer timer_;
  Clock::time_point at_{};
};

}  // namespace herald::net
