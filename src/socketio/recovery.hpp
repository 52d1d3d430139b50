// Connection state recovery, wire-compatible with socket.io >= 4.6 (`connectionStateRecovery`), so
// the unchanged socket.io-client uses it: the CONNECT answer carries a `pid`; every broadcast event
// without an ack carries its offset as its last argument; a client that comes back within the
// window sends {pid, offset} in its CONNECT and gets its socket id, rooms and data back, then every
// broadcast it missed, in order (`socket.recovered` is true).
//
// Per namespace, in process memory: a log of the broadcasts of the window (their encoded packets,
// shared with the send path, and their targets) and the sessions of sockets that dropped. An idle
// socket costs nothing here: its session is built when it disconnects. The pid is the socket id
// with a MAC under a per-process key (OpenSSL HMAC-SHA256), so a socket stores no pid and nobody
// can forge one; a pid from another process (a restart, another node) does not recover.
//
// In a cluster every node logs every node's broadcasts under their origin's stamps (see
// recovery_offset.hpp), so a client that comes back on another node, or after its node died, gets
// what it missed there too (missed_since), once the application has settled its rooms.
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

#include "socketio/engine_packets.hpp"
#include "socketio/namespace.hpp"
#include "socketio/recovery_offset.hpp"
#include "socketio/socket_data.hpp"

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
  SocketDataPtr attached;  // the socket's, shared
  Json data;
  uint64_t base = 0;  // the log position the socket had everything up to (if the client sends no offset)
  std::chrono::steady_clock::time_point disconnected;
};

// Told of every session that drops and every one taken back out of the store, and of every acked
// broadcast as each loop sends it: what a server needs to keep acked broadcasts for sessions caught
// between two of these (src/push/in_flight_pushes.hpp). Calls come on any thread, never under the
// store's lock.
class RecoveryWatch {
 public:
  virtual ~RecoveryWatch() = default;
  // On the dropped socket's loop, once its session is in the store.
  virtual void session_dropped(const RecoveredSession& session) = 0;
  // Out of the store again: its client came back on the calling loop (`here`, before any other
  // work of that loop runs), or elsewhere, or too late to recover. `take` numbers the store's takes
  // in order (see Recovery::for_each_session).
  virtual void session_taken(const RecoveredSession& session, uint64_t take, bool here) = 0;
  // On each loop, just before an acked broadcast goes to that loop's sockets: its first argument
  // after the event name, when that is a string. A loop the broadcast skips (no member of its
  // rooms there) is told from the emitting loop instead.
  virtual void acked_broadcast_sending(size_t loop, std::string_view first_argument) = 0;
};

class Recovery {
 public:
  using Clock = std::chrono::steady_clock;
  // A broadcast as the log keeps it.
  struct Entry {
    uint64_t seq;  // this log's own order
    uint32_t origin;
    uint64_t origin_seq;
    // The default parser's v4 form, shared with the send path; other encodings are made from it
    // when a client of theirs first needs the entry.
    std::shared_ptr<ProtocolPackets> packets;
    Target target;
    Clock::time_point emitted;
    size_t bytes;
  };

  explicit Recovery(RecoveryConfig config);

  const RecoveryConfig& config() const { return config_; }
  // The pid of a socket id (the id, '.', a MAC), and the id a genuine pid names.
  std::string pid_of(std::string_view sid) const;
  std::optional<std::string> sid_of(std::string_view pid) const;
  // This log's own origin: the stamp its own broadcasts carry to other nodes.
  const std::string& origin() const { return self_; }

  // Appends a broadcast: `encode` gets its offset text and its stamp and returns the encoded
  // packets (so the offset, the stamp and the log order are one, under one lock: a caller that
  // publishes the broadcast from `encode` publishes its own broadcasts in stamp order). `remote` is
  // the stamp of a broadcast from another node, null for this node's own; `unstamped` marks one no
  // other node can place (from another node without a stamp, or not sent to the others). Returns the entry's sequence
  // number.
  template <class Encode>
  std::pair<uint64_t, SharedPackets> append(const Target& target, Encode&& encode, const Stamp* remote = nullptr,
                                            bool unstamped = false);
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

  // The entries a client that had everything up to `offset` has not had, oldest first; `complete`
  // is false when some of them left the log or never reached it. `given_here`: this node gave the
  // offset (its session here is gone); otherwise another node did, which cannot place broadcasts
  // that came here without a stamp: they are left out.
  struct Missed {
    std::vector<Entry> entries;
    bool complete = true;
    uint64_t head = 0;  // the log position they run to
  };
  Missed missed_since(const RecoveryOffset& offset, bool given_here) const;

  // A broadcast of another node from before this node logged it (the cluster's shared copy of the
  // window, read when this node connects to Redis).
  struct History {
    Stamp stamp;
    Target target;
    Packet packet;
    std::chrono::system_clock::time_point emitted;
  };
  // Puts the broadcasts of `history` (in the order they were emitted) that are older than what this
  // log has of their origin, and still within the window, in front of the log, so that a client
  // that comes from another node is caught up with them too. They were never sent live here.
  // Returns how many it took.
  size_t prepend_history(std::vector<History> history);

  // Drops the session behind `pid` (its client came back elsewhere). True when there was one.
  bool forget(const std::string& pid);
  // Calls `visit` with every kept session, under the lock (`visit` must not call back in).
  // Returns how many sessions had been taken out of the store by then: a session whose `take`
  // (RecoveryWatch::session_taken) is at most that was not visited.
  template <class Visit>
  uint64_t for_each_session(Visit&& visit) const {
    std::lock_guard lock(mutex_);
    for (const auto& [pid, session] : sessions_) visit(session);
    return takes_;
  }

  // Set before the loops run (null: none).
  void set_watch(RecoveryWatch* watch) { watch_ = watch; }
  RecoveryWatch* watch() const { return watch_; }

  // For /metrics and tests.
  size_t log_entries() const;
  size_t sessions() const;

 private:
  // A source of broadcasts: this node, another node, or this node's count of unstamped ones.
  struct Origin {
    std::string id;
    uint64_t first_seq = 0;      // its first entry here
    uint64_t frontier = 0;       // its newest entry here
    uint64_t complete_from = 0;  // every seq from here to the frontier is (or was) in the log
    uint64_t gap_at = 0;         // the log position of its newest entry that left (or skipped) the log
    size_t in_log = 0;
    Clock::time_point last_logged{};
    bool retired = false;  // nothing of it for a window: forgotten (an offset stops naming it)
  };
  uint32_t origin_index(const std::string& id);
  std::pair<uint32_t, uint64_t> stamp(const Stamp* remote, bool unstamped, Clock::time_point now);
  std::string offset_text() const;
  // Whether entries after log position `base` that `offset` lacks have left the log or never came.
  // `elsewhere`: the offset was given by another node.
  bool lost_after(uint64_t base, const RecoveryOffset& offset, bool elsewhere) const;
  // Whether `entry` is after `offset` (for an origin the offset does not name: every entry is).
  bool after(const Entry& entry, const RecoveryOffset& offset) const;
  void evict(Clock::time_point now);

  RecoveryConfig config_;
  std::string key_;                                           // the MAC key, random per process
  std::string self_;                                          // this log's origin id, random per process
  std::vector<Origin> origins_;                               // guarded; [0] self, [1] unstamped
  std::unordered_map<std::string, uint32_t> origin_indexes_;  // guarded
  mutable std::mutex mutex_;
  std::deque<Entry> log_;                                                // guarded; sorted by seq
  uint64_t head_ = 0;                                                    // guarded
  size_t log_bytes_ = 0;                                                 // guarded
  std::unordered_map<std::string, RecoveredSession> sessions_;           // guarded, by pid
  std::deque<std::pair<Clock::time_point, std::string>> session_order_;  // guarded: pids by drop time
  uint64_t takes_ = 0;                                                   // guarded: sessions taken out
  RecoveryWatch* watch_ = nullptr;
};

template <class Encode>
std::pair<uint64_t, SharedPackets> Recovery::append(const Target& target, Encode&& encode, const Stamp* remote,
                                                    bool unstamped) {
  std::lock_guard lock(mutex_);
  uint64_t seq = head_ + 1;
  auto now = Clock::now();
  auto [origin, origin_seq] = stamp(remote, unstamped, now);
  SharedPackets packets = encode(offset_text(), Stamp{origins_[origin].id, origin_seq});
  size_t bytes = sizeof(Entry) + sizeof(ProtocolPackets);
  for (const auto& packet : *packets) bytes += packet.bytes->size();
  for (const auto& room : target.rooms) bytes += room.size();
  head_ = seq;
  log_.push_back(Entry{seq, origin, origin_seq, std::make_shared<ProtocolPackets>(packets), target, now, bytes});
  log_bytes_ += bytes;
  evict(now);
  return {seq, std::move(packets)};
}

}  // namespace herald::socketio
