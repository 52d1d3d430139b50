#include "push/redelivery_ledger.hpp"

#include <iterator>

namespace herald::push {

bool RedeliveryLedger::begin(const std::string& sid, const std::string& msg_id, Clock::time_point now) {
  prune(now);
  auto& sent = sockets_[sid];
  auto [entry, added] = sent.try_emplace(msg_id);
  if (added) return true;
  if (entry->second.waiting || entry->second.quiet_until > now) return false;
  entry->second = Sent{};
  return true;
}

void RedeliveryLedger::answered(const std::string& sid, const std::string& msg_id, bool acked, Clock::time_point now) {
  auto socket = sockets_.find(sid);
  if (socket == sockets_.end()) return;
  auto entry = socket->second.find(msg_id);
  if (entry == socket->second.end()) return;
  if (acked) {
    entry->second = Sent{false, now + quiet_};
    return;
  }
  socket->second.erase(entry);
  if (socket->second.empty()) sockets_.erase(socket);
}

void RedeliveryLedger::prune(Clock::time_point now) {
  if (now < next_prune_) return;
  next_prune_ = now + quiet_;
  for (auto socket = sockets_.begin(); socket != sockets_.end();) {
    auto& sent = socket->second;
    for (auto entry = sent.begin(); entry != sent.end();) {
      if (!entry->second.waiting && entry->second.quiet_until <= now)
        entry = sent.erase(entry);
      else
        ++entry;
    }
    socket = sent.empty() ? sockets_.erase(socket) : std::next(socket);
  }
}

}  // namespace herald::push
