// Acked pushes that a user has not acknowledged yet, kept so that each is delivered at least once:
// the user was offline when it was sent, its socket dropped before acking, or the wait for its ack
// ran out. Each is sent again when the user is back (login, or a recovered connection) until it is
// acked or its time to live ends; then it is never sent again. In process memory, bounded per user
// and in all; the states of recent messages answer GET /api/v1/messages/<msgId>.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "socketio/packet.hpp"

namespace herald::push {

struct PendingLimits {
  size_t per_user = 1000;                // the oldest pending message of a user goes first past this
  size_t max_bytes = size_t{256} << 20;  // all users; the oldest go first past this
};

struct PendingMessage {
  std::string msg_id;
  std::string event;
  socketio::Json message;
  std::chrono::system_clock::time_point accepted;
  std::chrono::system_clock::time_point expires;
};

// What happened to one message for one user.
struct MessageState {
  enum class State { Pending, Acked, Expired, Dropped };
  State state = State::Pending;
  std::chrono::system_clock::time_point at;  // when it entered that state
};
const char* state_name(MessageState::State state);

class PendingMessages {
 public:
  using Clock = std::chrono::system_clock;
  explicit PendingMessages(PendingLimits limits) : limits_(limits) {}

  // Keeps `message` for `uid` (once per msgId and user). False when it was acked already.
  bool add(const std::string& uid, const PendingMessage& message);
  // The same for each of `uids`, under one lock; how many are kept (not acked already).
  size_t add(const std::vector<std::string>& uids, const PendingMessage& message);
  // The user's messages still to deliver, oldest first.
  std::vector<PendingMessage> of(const std::string& uid);
  // The user acknowledged `msg_id`: never sent again. True when it was pending.
  bool acked(const std::string& uid, const std::string& msg_id);
  // Per user, what became of `msg_id` (while its record lasts: its time to live, or a minute
  // after it was acked).
  std::vector<std::pair<std::string, MessageState>> states(const std::string& msg_id);

  // Takes every pending message out, oldest first per user (a buffer handing them on to Redis).
  std::vector<std::pair<std::string, PendingMessage>> drain();

  size_t pending_count() const;
  size_t bytes() const;

 private:
  struct Entry {
    PendingMessage message;
    size_t bytes;
  };
  struct Record {
    std::unordered_map<std::string, MessageState> users;
    Clock::time_point forget_at;
  };
  void expire(Clock::time_point now);
  // Marks and removes the user's messages whose time to live has ended.
  void purge_expired(const std::string& uid, Clock::time_point now);
  void mark(const std::string& msg_id, const std::string& uid, MessageState::State state, Clock::time_point now,
            Clock::time_point forget_at);
  void drop_oldest_of(const std::string& uid, std::deque<Entry>& queue, MessageState::State why, Clock::time_point now);

  PendingLimits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::deque<Entry>> users_;  // guarded: pending, oldest first
  bool add_locked(const std::string& uid, const PendingMessage& message, Clock::time_point now);
  std::unordered_map<std::string, Record> records_;  // guarded: by msgId
  // guarded: (expiry, uid, msgId) in the order added, for expiry and the total bound
  std::deque<std::tuple<Clock::time_point, std::string, std::string>> order_;
  std::deque<std::pair<Clock::time_point, std::string>> forget_order_;  // guarded: records to forget
  size_t bytes_ = 0;                                                    // guarded
  size_t count_ = 0;                                                    // guarded
};

}  // namespace herald::push
