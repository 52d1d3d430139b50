// Limits per client address: open sessions, and new sessions per second (a token bucket that
// allows short bursts). Shared by every loop; one small lock per handshake and per close.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace herald::engineio {

class Admission {
 public:
  enum class Verdict { Admit, TooManySessions, TooFast };

  Admission(size_t max_sessions_per_ip, double handshakes_per_second)
      : max_sessions_(max_sessions_per_ip), rate_(handshakes_per_second) {}
  bool enabled() const { return max_sessions_ > 0 || rate_ > 0; }
  // Counts a session for `address` when admitted.
  Verdict admit(const std::string& address);
  void release(const std::string& address);

 private:
  struct Entry {
    size_t sessions = 0;
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
  };
  size_t max_sessions_;
  double rate_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace herald::engineio
