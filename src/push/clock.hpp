// Wall-clock times as the API, webhooks, cluster messages and Redis carry them: integers since the
// Unix epoch (milliseconds for people and records, microseconds where order within a
// millisecond matters).
#pragma once

#include <chrono>
#include <cstdint>

namespace herald::push {

using WallClock = std::chrono::system_clock;

inline int64_t epoch_ms(WallClock::time_point at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}
inline WallClock::time_point from_epoch_ms(int64_t ms) {
  return WallClock::time_point(std::chrono::duration_cast<WallClock::duration>(std::chrono::milliseconds(ms)));
}
inline int64_t epoch_us(WallClock::time_point at) {
  return std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
}
inline WallClock::time_point from_epoch_us(int64_t us) {
  return WallClock::time_point(std::chrono::duration_cast<WallClock::duration>(std::chrono::microseconds(us)));
}

}  // namespace herald::push
