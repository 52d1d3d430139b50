// Where kept acked pushes live (see pending.hpp for what is kept and why). One node alone keeps
// them in its memory; a cluster keeps them in Redis, so that a user who comes back on any node, or
// after its node died, gets them. Callbacks may run on another thread: callers post back to their
// loop when they need to.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "push/pending.hpp"

namespace herald::push {

class PendingStore {
 public:
  using Messages = std::vector<PendingMessage>;
  using States = std::vector<std::pair<std::string, MessageState>>;
  virtual ~PendingStore() = default;

  // Keeps `message` for `uid` until acked (once per msgId and user; not if it was acked already).
  // `done` (may be null) runs once it is stored, or held where it waits for the store.
  virtual void keep(const std::string& uid, const PendingMessage& message, std::function<void()> done) = 0;
  // The same for each of `uids`; `done` (may be null) runs once, when the store has them all. A push
  // to all keeps one message for every user away: one call, not one per user.
  virtual void keep_many(const std::vector<std::string>& uids, const PendingMessage& message,
                         std::function<void()> done);
  // The user's messages still to deliver, oldest first.
  virtual void pending_of(const std::string& uid, std::function<void(Messages)> done) = 0;
  // The user acknowledged `msg_id`: never sent again. `done(true)` when it was pending (a late
  // receipt to report), once per msgId and user across the cluster.
  virtual void acked(const std::string& uid, const std::string& msg_id, std::function<void(bool)> done) = 0;
  // Per user, what became of `msg_id`, sorted by user.
  virtual void states(const std::string& msg_id, std::function<void(States)> done) = 0;
};

// This process's memory: survives disconnections, not a restart.
class MemoryPendingStore : public PendingStore {
 public:
  explicit MemoryPendingStore(PendingLimits limits) : messages_(limits) {}
  void keep(const std::string& uid, const PendingMessage& message, std::function<void()> done) override;
  void keep_many(const std::vector<std::string>& uids, const PendingMessage& message,
                 std::function<void()> done) override;
  void pending_of(const std::string& uid, std::function<void(Messages)> done) override { done(messages_.of(uid)); }
  void acked(const std::string& uid, const std::string& msg_id, std::function<void(bool)> done) override {
    bool was_pending = messages_.acked(uid, msg_id);
    if (done) done(was_pending);
  }
  void states(const std::string& msg_id, std::function<void(States)> done) override { done(messages_.states(msg_id)); }
  PendingMessages& messages() { return messages_; }

 private:
  PendingMessages messages_;
};

}  // namespace herald::push
