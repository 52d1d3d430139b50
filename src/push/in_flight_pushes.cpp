#include "push/in_flight_pushes.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "metrics/metrics.hpp"
#include "push/user_data.hpp"
#include "socketio/namespace.hpp"

namespace herald::push {

uint64_t InFlightPushes::arrived(const PushRequest& request, const PendingMessage& message) {
  auto now = Clock::now();
  std::lock_guard lock(mutex_);
  prune(now);
  uint64_t handle = next_handle_++;
  pushes_.push_back(Push{handle, request.kind == PushRequest::Kind::All, request.targets, message, now,
                         now + std::max<Clock::duration>(request.timeout, std::chrono::seconds(1)),
                         std::vector<bool>(loops_, false), loops_, std::nullopt});
  count_.store(pushes_.size(), std::memory_order_release);
  return handle;
}

void InFlightPushes::dropped_sessions_read(uint64_t handle, uint64_t takes) {
  std::lock_guard lock(mutex_);
  for (auto& push : pushes_)
    if (push.handle == handle) push.read_at_take = takes;
  prune(Clock::now());
}

void InFlightPushes::acked_broadcast_sending(size_t loop, std::string_view first_argument) {
  if (count_.load(std::memory_order_acquire) == 0 || loop >= loops_) return;
  std::lock_guard lock(mutex_);
  // The first of that id this loop has not sent: a backend may reuse a msgId, and each loop sends
  // in the order the pushes arrived.
  for (auto& push : pushes_) {
    if (push.message.msg_id != first_argument || push.sent_on[loop]) continue;
    push.sent_on[loop] = true;
    --push.loops_left;
    break;
  }
  prune(Clock::now());
}

void InFlightPushes::session_dropped(const socketio::RecoveredSession& session) {
  dropped_from(socketio::LoopSockets::origin_loop(), session);
}

void InFlightPushes::session_taken(const socketio::RecoveredSession& session, uint64_t take, bool here) {
  taken(session, take, here ? std::optional(socketio::LoopSockets::origin_loop()) : std::nullopt);
}

void InFlightPushes::dropped_from(size_t loop, const socketio::RecoveredSession& session) {
  std::string_view uid = user_of(session);
  if (uid.empty() || loop >= loops_ || count_.load(std::memory_order_acquire) == 0) return;
  std::vector<PendingMessage> missed;
  {
    std::lock_guard lock(mutex_);
    for (const auto& push : pushes_)
      if (!push.sent_on[loop] && targets(push, session)) missed.push_back(push.message);
  }
  if (!missed.empty()) {
    spdlog::debug("push: {} pushes in flight kept for {}, dropped before its loop sent them", missed.size(), uid);
    keep(std::string(uid), missed);
  }
}

void InFlightPushes::taken(const socketio::RecoveredSession& session, uint64_t take, std::optional<size_t> here) {
  std::string_view uid = user_of(session);
  if (uid.empty() || count_.load(std::memory_order_acquire) == 0) return;
  std::vector<PendingMessage> missed;
  {
    std::lock_guard lock(mutex_);
    for (const auto& push : pushes_) {
      // Arrived before it dropped: kept at the drop if its loop had not sent it yet.
      if (push.arrived < session.disconnected) continue;
      // Read with the session in the store: kept then.
      if (push.read_at_take && take > *push.read_at_take) continue;
      // Back on this loop before the loop sent it: it gets it now.
      if (here && *here < loops_ && !push.sent_on[*here]) continue;
      if (targets(push, session)) missed.push_back(push.message);
    }
  }
  if (!missed.empty()) {
    spdlog::debug("push: {} pushes in flight kept for {}, back while they were sent", missed.size(), uid);
    keep(std::string(uid), missed);
  }
}

size_t InFlightPushes::size() const {
  std::lock_guard lock(mutex_);
  return pushes_.size();
}

bool InFlightPushes::targets(const Push& push, const socketio::RecoveredSession& session) const {
  if (push.all) return true;
  return std::any_of(session.rooms.begin(), session.rooms.end(), [&push](const std::string& room) {
    return std::find(push.rooms.begin(), push.rooms.end(), room) != push.rooms.end();
  });
}

void InFlightPushes::prune(Clock::time_point now) {
  std::erase_if(pushes_, [now](const Push& push) {
    return (push.loops_left == 0 && push.read_at_take) || push.forget_at <= now;
  });
  count_.store(pushes_.size(), std::memory_order_release);
}

void InFlightPushes::keep(const std::string& uid, const std::vector<PendingMessage>& messages) {
  metrics::global().pushes_kept_in_flight.fetch_add(messages.size(), std::memory_order_relaxed);
  keep_(uid, messages);
}

}  // namespace herald::push
