// Limits per client address: open sessions, and new sessions per second (a token bucket that
// allows short bursts). Shared by every loop; one small lock per handshake and per close.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "net/clock.hpp"

namespace herald::engineio {

class Admission {
 public:
  enum class Verdict { Admit, TooManySessions, TooFast };

  Admission(size_t max_sessions_per_ip, double handshakes_per_second, const net::Clock& clock = net::Clock::steady())
      : max_sessions_(max_sessions_per_ip), rate_(handshakes_per_second), clock_(clock) {}
  bool enabled() const { return max_sessions_ > 0 || rate_ > 0; }
  // Counts a session for `address` when admitted.
  Verdict admit(const std::string& address);
  void release(const std::string& address);
  // Addresses with an entry (open sessions, or a bucket not yet full again).
  size_t tracked() const;

 private:
  struct Entry {
    size_t sessions = 0;
    double tokens = 0;
    net::Clock::time_point refilled;
  };
  size_t max_sessions_;
  double rate_;
  const net::Clock& clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace herald::engineio
