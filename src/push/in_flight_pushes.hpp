// Acked room and "all" pushes while this node is still sending them, checked against the sessions
// that drop or come back meanwhile.
//
// Such a push is kept for the users whose sessions have dropped, read from the recovery store once
// when the push arrives here. Sending it is a task on each loop, queued after that read. Two kinds
// of session fall between the read and the send, and this class keeps the push for them:
//   - a socket that drops after the read, on a loop that has not sent the push yet: it was neither
//     read as dropped nor reached (kept at the drop);
//   - a session that comes back after the push passed its new loop (here or on another node), and
//     was taken out of the store before the read: reached by neither (kept when it is taken).
// A session that came back before the push arrived is not one of them: its new socket gets the push.
// Keeping the same push twice for a user is harmless (the store keeps one); missing one is not.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "push/delivery.hpp"
#include "push/pending.hpp"
#include "socketio/recovery.hpp"

namespace herald::push {

class InFlightPushes : public socketio::RecoveryWatch {
 public:
  using Clock = std::chrono::steady_clock;
  // Keeps the pushes for the user, and tells its sockets anywhere once the store has them.
  using Keep = std::function<void(const std::string& uid, const std::vector<PendingMessage>& messages)>;
  InFlightPushes(size_t loops, Keep keep) : loops_(loops), keep_(std::move(keep)) {}

  // A room or "all" push arrives, before its dropped sessions are read and before any loop sends
  // it. Returns its handle for dropped_sessions_read.
  uint64_t arrived(const PushRequest& request, const PendingMessage& message);
  // Its dropped sessions were read when the store had had `takes` takes
  // (socketio::Recovery::for_each_session).
  void dropped_sessions_read(uint64_t handle, uint64_t takes);

  // RecoveryWatch: on the calling loop.
  void session_dropped(const socketio::RecoveredSession& session) override;
  void session_taken(const socketio::RecoveredSession& session, uint64_t take, bool here) override;
  void acked_broadcast_sending(size_t loop, std::string_view first_argument) override;
  // The same with the loop named: the socket dropped from `loop`, or came back on `here` (none:
  // elsewhere, or not recovered).
  void dropped_from(size_t loop, const socketio::RecoveredSession& session);
  void taken(const socketio::RecoveredSession& session, uint64_t take, std::optional<size_t> here);

  // Pushes still watched (for tests).
  size_t size() const;

 private:
  struct Push {
    uint64_t handle;
    bool all;
    std::vector<std::string> rooms;
    PendingMessage message;
    Clock::time_point arrived;
    Clock::time_point forget_at;  // a loop that has not sent it by then never will
    std::vector<bool> sent_on;    // by loop
    size_t loops_left;
    std::optional<uint64_t> read_at_take;
  };
  bool targets(const Push& push, const socketio::RecoveredSession& session) const;
  // Under the lock: forgets pushes every loop sent and whose sessions were read, or too old.
  void prune(Clock::time_point now);
  void keep(const std::string& uid, const std::vector<PendingMessage>& messages);

  size_t loops_;
  Keep keep_;
  mutable std::mutex mutex_;
  std::deque<Push> pushes_;   // guarded, in order of arrival
  uint64_t next_handle_ = 1;  // guarded
  // Read without the lock first: nearly always zero, and then a drop or a send costs nothing more.
  std::atomic<size_t> count_{0};
};

}  // namespace herald::push
