// Connection state recovery, wire-compatible with socket.io >= 4.6 (`connectionStateRecovery`), so
// the unchanged socket.io-client uses it: the CONNECT answer carries a `pid`; every broadcast event
// without an ack carries its offset as its last argument; a client that comes back within the
// window sends {pid, offset} in its CONNECT and gets its socket id, rooms and user back, then every
// broadcast it missed, in order (`socket.recovered` is true).
//
// Per namespace, in process memory: a log of the broadcasts of the window (their encoded packets,
// shared with the send path, and their targets) and the sessions of sockets that dropped. An idle
// socket costs nothing here: its session is built when it disconnects. The pid is the socket id
// with a MAC under a per-process key (OpenSSL HMAC-SHA256), so a socket stores no pid and nobody
// can forge one; a pid from another process (a restart, another node) does not recover.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "socketio/namespace.hpp"

namespace herald::socketio {

struct RecoveryConfig {
  std::chrono::milliseconds window{0};  // 0: off
  size_t max_log_bytes = size_t{64} << 20;
  size_t max_sessions = 1'000'000;
};

// What a dropped socket leaves behind for its return.
struct RecoveredSession {
  std::string sid;
  std::vector<std::string> rooms;
  std::string user;
  uint64_t user_seq = 0;
  Json data;
  uint64_t base = 0;  // the log position the socket had everything up to (if the client sends no offset)
  std::chrono::steady_clock::time_point disconnected;
};

class Recovery {
 public:
  using Clock = std::chrono::steady_clock;
  // A broadcast as the log keeps it.
  struct Entry {
    uint64_t seq;
    SharedPackets packets;
    Target target;
    Clock::time_point emitted;
    size_t bytes;
  };

  explicit Recovery(RecoveryConfig config);

  const RecoveryConfig& config() const { return config_; }
  // The pid of a socket id (the id, '.', a MAC), and the id a genuine pid names.
  std::string pid_of(std::string_view sid) const;
  std::optional<std::string> sid_of(std::string_view pid) const;
  static std::string offset_text(uint64_t seq);

  // Appends a broadcast: `encode` gets its offset text and returns the encoded packets (so the
  // offset and the log order are one, under one lock). Returns the entry's sequence number.
  template <class Encode>
  std::pair<uint64_t, SharedPackets> append(const Target& target, Encode&& encode);
  // The position of the newest entry: what a socket that connects now has.
  uint64_t head() const;

  // A socket dropped for a reason it can come back from.
  void persist(std::string pid, RecoveredSession session);
  // The session behind `pid`, taken out of the store (one return per drop), with the entries after
  // `offset` (or after its base when the client sends none, or text that is no offset of ours) and
  // the log head they run to. Nothing when the pid is unknown or expired, or what it missed has
  // left the log.
  struct Restore {
    RecoveredSession session;
    std::vector<Entry> missed;
    uint64_t head = 0;
  };
  std::optional<Restore> restore(std::string_view pid, const std::optional<std::string>& offset);

  // Drops the session behind `pid` (its client came back elsewhere). True when there was one.
  bool forget(const std::string& pid);
  // Calls `visit` with every kept session, under the lock (`visit` must not call back in).
  template <class Visit>
  void for_each_session(Visit&& visit) const {
    std::lock_guard lock(mutex_);
    for (const auto& [pid, session] : sessions_) visit(session);
  }

  // For /metrics and tests.
  size_t log_entries() const;
  size_t sessions() const;

 private:
  void evict(Clock::time_point now);

  RecoveryConfig config_;
  std::string key_;  // the MAC key, random per process
  mutable std::mutex mutex_;
  std::deque<Entry> log_;                                                // guarded; sorted by seq
  uint64_t head_ = 0;                                                    // guarded
  size_t log_bytes_ = 0;                                                 // guarded
  std::unordered_map<std::string, RecoveredSession> sessions_;           // guarded, by pid
  std::deque<std::pair<Clock::time_point, std::string>> session_order_;  // guarded: pids by drop time
};

template <class Encode>
std::pair<uint64_t, SharedPackets> Recovery::append(const Target& target, Encode&& encode) {
  std::lock_guard lock(mutex_);
  uint64_t seq = head_ + 1;
  SharedPackets packets = encode(offset_text(seq));
  size_t bytes = sizeof(Entry);
  for (const auto& packet : *packets) bytes += packet.bytes->size();
  for (const auto& room : target.rooms) bytes += room.size();
  auto now = Clock::now();
  head_ = seq;
  log_.push_back(Entry{seq, packets, target, now, bytes});
  log_bytes_ += bytes;
  evict(now);
  return {seq, std::move(packets)};
}

}  // namespace herald::socketio
