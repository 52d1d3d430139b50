#include "net/clock.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace herald::net {

Clock& Clock::steady() {
  static Clock clock(false);
  return clock;
}

std::unique_ptr<Clock> Clock::manual(time_point start) { return std::unique_ptr<Clock>(new Clock(true, start)); }

Clock::~Clock() { assert(alarms_.empty() && "a manual clock outlived by its alarms"); }

void Clock::set(Alarm* alarm, time_point at, std::function<void()> callback) {
  cancel(alarm);
  alarms_.push_back(Pending{alarm, at, next_order_++, std::move(callback)});
}

void Clock::cancel(Alarm* alarm) {
  std::erase_if(alarms_, [alarm](const Pending& pending) { return pending.alarm == alarm; });
}

void Clock::advance(duration by) {
  assert(manual_ && "only a manual clock is advanced");
  time_point target = manual_now_ + by;
  for (;;) {
    auto due = std::min_element(alarms_.begin(), alarms_.end(), [](const Pending& a, const Pending& b) {
      return a.at != b.at ? a.at < b.at : a.order < b.order;
    });
    if (due == alarms_.end() || due->at > target) break;
    manual_now_ = std::max(manual_now_, due->at);
    auto callback = std::move(due->callback);
    alarms_.erase(due);  // before the callback, which may set the alarm again
    callback();
  }
  manual_now_ = target;
}

}  // namespace herald::net
