#include "push/pending.hpp"

#include <algorithm>
#include <atomic>
#include <memory>

#include "codec/raw_json.hpp"
#include "metrics/metrics.hpp"
#include "push/pending_store.hpp"

namespace herald::push {
namespace {

// How long the state of an acked message is still told after its ack.
constexpr auto kRecordAfterAck = std::chrono::minutes(10);

size_t cost(const std::string& uid, const PendingMessage& message) {
  return sizeof(PendingMessage) + 64 + uid.size() + message.msg_id.size() + message.event.size() +
         codec::to_json_text(message.message).size();
}

}  // namespace

const char* state_name(MessageState::State state) {
  switch (state) {
    case MessageState::State::Pending:
      return "pending";
    case MessageState::State::Acked:
      return "acked";
    case MessageState::State::Expired:
      return "expired";
    case MessageState::State::Dropped:
      return "dropped";
  }
  return "unknown";
}

void PendingMessages::mark(const std::string& msg_id, const std::string& uid, MessageState::State state,
                           Clock::time_point now, Clock::time_point forget_at) {
  Record& record = records_[msg_id];
  record.users[uid] = MessageState{state, now};
  if (forget_at > record.forget_at) record.forget_at = forget_at;
  forget_order_.emplace_back(forget_at, msg_id);
}

void PendingMessages::drop_oldest_of(const std::string& uid, std::deque<Entry>& queue, MessageState::State why,
                                     Clock::time_point now) {
  Entry& oldest = queue.front();
  mark(oldest.message.msg_id, uid, why, now, now + kRecordAfterAck);
  bytes_ -= oldest.bytes;
  --count_;
  queue.pop_front();
  auto& metrics = metrics::global();
  (why == MessageState::State::Expired ? metrics.pending_expired : metrics.pending_dropped)
      .fetch_add(1, std::memory_order_relaxed);
}

void PendingMessages::expire(Clock::time_point now) {
  // The insertion order approximates the expiry order (times to live differ); of() checks each.
  while (!order_.empty() && (std::get<0>(order_.front()) <= now || bytes_ > limits_.max_bytes)) {
    // Not a structured binding: clang 14 cannot capture one in the lambda below.
    auto expires = std::get<0>(order_.front());
    std::string uid = std::move(std::get<1>(order_.front()));
    std::string msg_id = std::move(std::get<2>(order_.front()));
    order_.pop_front();
    auto user = users_.find(uid);
    if (user == users_.end()) continue;
    auto& queue = user->second;
    auto found = std::find_if(queue.begin(), queue.end(), [&](const Entry& e) { return e.message.msg_id == msg_id; });
    if (found == queue.end()) continue;
    std::rotate(queue.begin(), found, found + 1);  // to the front, where drop_oldest_of takes it
    drop_oldest_of(uid, queue, expires <= now ? MessageState::State::Expired : MessageState::State::Dropped, now);
    if (queue.empty()) users_.erase(user);
  }
  while (!forget_order_.empty() && forget_order_.front().first <= now) {
    auto found = records_.find(forget_order_.front().second);
    if (found != records_.end() && found->second.forget_at <= now) records_.erase(found);
    forget_order_.pop_front();
  }
}

void PendingMessages::purge_expired(const std::string& uid, Clock::time_point now) {
  auto user = users_.find(uid);
  if (user == users_.end()) return;
  auto& queue = user->second;
  for (size_t i = 0; i < queue.size();) {
    if (queue[i].message.expires > now) {
      ++i;
      continue;
    }
    std::rotate(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(i),
                queue.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    drop_oldest_of(uid, queue, MessageState::State::Expired, now);
  }
  if (queue.empty()) users_.erase(user);
}

bool PendingMessages::add(const std::string& uid, const PendingMessage& message) {
  std::lock_guard lock(mutex_);
  return add_locked(uid, message, Clock::now());
}

size_t PendingMessages::add(const std::vector<std::string>& uids, const PendingMessage& message) {
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  size_t added = 0;
  for (const auto& uid : uids)
    if (add_locked(uid, message, now)) ++added;
  return added;
}

bool PendingMessages::add_locked(const std::string& uid, const PendingMessage& message, Clock::time_point now) {
  expire(now);
  if (message.expires <= now) return false;
  // A user's queue holds exactly the messages whose record says pending for it, so the record
  // answers "kept already" without a walk through a queue of up to per_user messages (a push to
  // all walked it for every user away).
  if (auto record = records_.find(message.msg_id); record != records_.end()) {
    if (auto state = record->second.users.find(uid); state != record->second.users.end()) {
      if (state->second.state == MessageState::State::Acked) return false;
      if (state->second.state == MessageState::State::Pending) return true;
    }
  }
  auto& queue = users_[uid];
  size_t size = cost(uid, message);
  queue.push_back(Entry{message, size});
  bytes_ += size;
  ++count_;
  mark(message.msg_id, uid, MessageState::State::Pending, now, message.expires);
  order_.emplace_back(message.expires, uid, message.msg_id);
  if (queue.size() > limits_.per_user) drop_oldest_of(uid, queue, MessageState::State::Dropped, now);
  expire(now);  // the total bound
  return true;
}

std::vector<PendingMessage> PendingMessages::of(const std::string& uid) {
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  expire(now);
  purge_expired(uid, now);
  std::vector<PendingMessage> messages;
  auto user = users_.find(uid);
  if (user == users_.end()) return messages;
  for (const auto& entry : user->second)
    if (entry.message.expires > now) messages.push_back(entry.message);
  return messages;
}

bool PendingMessages::acked(const std::string& uid, const std::string& msg_id) {
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  bool was_pending = false;
  if (auto user = users_.find(uid); user != users_.end()) {
    auto& queue = user->second;
    auto found = std::find_if(queue.begin(), queue.end(), [&](const Entry& e) { return e.message.msg_id == msg_id; });
    if (found != queue.end()) {
      bytes_ -= found->bytes;
      --count_;
      queue.erase(found);
      was_pending = true;
    }
    if (queue.empty()) users_.erase(user);
  }
  if (was_pending || records_.contains(msg_id))
    mark(msg_id, uid, MessageState::State::Acked, now, now + kRecordAfterAck);
  return was_pending;
}

std::vector<std::pair<std::string, MessageState>> PendingMessages::states(const std::string& msg_id) {
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  expire(now);
  std::vector<std::pair<std::string, MessageState>> out;
  auto record = records_.find(msg_id);
  if (record == records_.end()) return out;
  std::vector<std::string> pending;
  for (const auto& [uid, state] : record->second.users)
    if (state.state == MessageState::State::Pending) pending.push_back(uid);
  for (const auto& uid : pending) purge_expired(uid, now);
  record = records_.find(msg_id);
  if (record != records_.end())
    for (const auto& [uid, state] : record->second.users) out.emplace_back(uid, state);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

std::vector<std::pair<std::string, PendingMessage>> PendingMessages::drain() {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, PendingMessage>> out;
  out.reserve(count_);
  for (auto& [uid, queue] : users_)
    for (auto& entry : queue) out.emplace_back(uid, std::move(entry.message));
  users_.clear();
  order_.clear();
  bytes_ = 0;
  count_ = 0;
  return out;
}

size_t PendingMessages::pending_count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

size_t PendingMessages::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

void MemoryPendingStore::keep(const std::string& uid, const PendingMessage& message, std::function<void()> done) {
  if (messages_.add(uid, message)) metrics::global().pending_kept.fetch_add(1, std::memory_order_relaxed);
  if (done) done();
}

void MemoryPendingStore::keep_many(const std::vector<std::string>& uids, const PendingMessage& message,
                                   std::function<void()> done) {
  metrics::global().pending_kept.fetch_add(messages_.add(uids, message), std::memory_order_relaxed);
  if (done) done();
}

void PendingStore::keep_many(const std::vector<std::string>& uids, const PendingMessage& message,
                             std::function<void()> done) {
  if (uids.empty() || !done) {
    for (const auto& uid : uids) keep(uid, message, nullptr);
    if (done) done();
    return;
  }
  // The store's answers may come on another thread than the call.
  auto left = std::make_shared<std::atomic<size_t>>(uids.size());
  auto all_done = std::make_shared<std::function<void()>>(std::move(done));
  for (const auto& uid : uids)
    keep(uid, message, [left, all_done] {
      if (left->fetch_sub(1) == 1) (*all_done)();
    });
}

}  // namespace herald::push
