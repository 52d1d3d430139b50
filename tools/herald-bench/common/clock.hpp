// Clocks shared by the pusher and the receivers: both run on one machine, so the wall clock is
// a common reference for push-to-receipt latency; the steady clock measures local intervals.
#pragma once

#include <chrono>
#include <cstdint>

namespace herald::bench {

using SteadyClock = std::chrono::steady_clock;

// Microseconds since the Unix epoch (what a pusher writes into a message's `t`).
inline int64_t epoch_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace herald::bench
