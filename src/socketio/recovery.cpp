#include "socketio/recovery.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include "codec/base64.hpp"

namespace herald::socketio {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kMacBytes = 12;    // 96 bits: unguessable, and a short pid
constexpr size_t kOriginBytes = 6;  // 8 characters: distinct among a cluster's nodes and restarts

std::string mac_text(const std::string& key, std::string_view sid) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  size_t length = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                 reinterpret_cast<const unsigned char*>(sid.data()), sid.size(), mac.data(), mac.size(), &length))
    throw std::runtime_error("HMAC-SHA256 failed");
  // URL-safe, as the socket id is.
  return codec::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), kMacBytes));
}

}  // namespace

Recovery::Recovery(RecoveryConfig config) : config_(config), key_(kKeyBytes, '\0') {
  std::array<unsigned char, kOriginBytes> origin{};
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size())) != 1 ||
      RAND_bytes(origin.data(), static_cast<int>(origin.size())) != 1)
    throw std::runtime_error("no random bytes for the recovery key");
  self_ = codec::base64url_encode(std::string_view(reinterpret_cast<const char*>(origin.data()), origin.size()));
  origin_index(self_);
  origin_index(self_ + kLocalOnlyMark);
}

std::string Recovery::pid_of(std::string_view sid) const {
  std::string pid(sid);
  pid += '.';
  pid += mac_text(key_, sid);
  return pid;
}

std::optional<std::string> Recovery::sid_of(std::string_view pid) const {
  size_t dot = pid.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  std::string_view sid = pid.substr(0, dot);
  std::string expected = mac_text(key_, sid);
  std::string_view given = pid.substr(dot + 1);
  if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), given.size()) != 0)
    return std::nullopt;
  return std::string(sid);
}

uint64_t Recovery::head() const {
  std::lock_guard lock(mutex_);
  return head_;
}

uint32_t Recovery::origin_index(const std::string& id) {
  auto [found, added] = origin_indexes_.try_emplace(id, static_cast<uint32_t>(origins_.size()));
  if (added) origins_.push_back(Origin{id});
  return found->second;
}

std::pair<uint32_t, uint64_t> Recovery::stamp(const Stamp* remote, bool unstamped, Clock::time_point now) {
  uint32_t index = remote ? origin_index(remote->origin) : unstamped ? 1 : 0;
  Origin& origin = origins_[index];
  uint64_t seq = remote ? remote->seq : origin.frontier + 1;
  if (origin.first_seq == 0) {
    origin.first_seq = origin.complete_from = seq;
  } else if (seq != origin.frontier + 1) {
    // Some of its broadcasts never reached this node (its Redis connection was down): what came
    // before this one cannot be replayed from here.
    origin.complete_from = std::max(origin.complete_from, seq);
    origin.gap_at = head_ + 1;
  }
  origin.frontier = std::max(origin.frontier, seq);
  origin.last_logged = now;
  ++origin.in_log;
  return {index, seq};
}

std::string Recovery::offset_text() const {
  std::string text;
  for (const auto& origin : origins_)
    if (!origin.retired && origin.frontier > 0) append_offset_stamp(text, origin.id, origin.frontier);
  return text;
}

bool Recovery::after(const Entry& entry, const RecoveryOffset& offset) const {
  auto had = offset.seq_of(origins_[entry.origin].id);
  return !had || entry.origin_seq > *had;
}

bool Recovery::lost_after(uint64_t base, const RecoveryOffset& offset, bool elsewhere) const {
  for (const auto& origin : origins_) {
    if (origin.retired || origin.first_seq == 0) continue;
    auto had = offset.seq_of(origin.id);
    if (had) {
      if (*had + 1 < origin.complete_from) return true;
    } else if (elsewhere && origin.id.back() == kLocalOnlyMark) {
      continue;  // not ours to place
    } else if (origin.complete_from > origin.first_seq && (elsewhere || origin.gap_at > base)) {
      return true;  // the offset predates it: every entry of it counts, and some are gone
    }
  }
  return false;
}

void Recovery::evict(Clock::time_point now) {
  auto oldest = now - config_.window;
  while (!log_.empty() && (log_.front().emitted < oldest || log_bytes_ > config_.max_log_bytes)) {
    const Entry& gone = log_.front();
    Origin& origin = origins_[gone.origin];
    origin.complete_from = std::max(origin.complete_from, gone.origin_seq + 1);
    origin.gap_at = gone.seq;
    --origin.in_log;
    log_bytes_ -= gone.bytes;
    log_.pop_front();
  }
  // An origin silent for a window (a node that stopped) leaves the offsets.
  for (size_t i = 2; i < origins_.size(); ++i) {
    Origin& origin = origins_[i];
    if (origin.retired || origin.in_log > 0 || origin.last_logged >= oldest) continue;
    origin.retired = true;
    origin_indexes_.erase(origin.id);
    origin.id.clear();
    origin.id.shrink_to_fit();
  }
  while (!session_order_.empty() &&
         (session_order_.front().first < oldest || session_order_.size() > config_.max_sessions)) {
    auto found = sessions_.find(session_order_.front().second);
    // A pid persisted again later has a newer entry of its own further on.
    if (found != sessions_.end() && found->second.disconnected == session_order_.front().first) sessions_.erase(found);
    session_order_.pop_front();
  }
}

void Recovery::persist(std::string pid, RecoveredSession session) {
  std::unique_lock lock(mutex_);
  auto now = Clock::now();
  session.disconnected = now;
  std::optional<RecoveredSession> told = watch_ ? std::optional(session) : std::nullopt;
  session_order_.emplace_back(now, pid);
  sessions_.insert_or_assign(std::move(pid), std::move(session));
  evict(now);
  lock.unlock();
  if (told) watch_->session_dropped(*told);
}

std::optional<Recovery::Restore> Recovery::restore(std::string_view pid, const std::optional<std::string>& offset) {
  std::unique_lock lock(mutex_);
  evict(Clock::now());
  auto found = sessions_.find(std::string(pid));
  if (found == sessions_.end()) return std::nullopt;
  Restore restore{std::move(found->second), {}, head_};
  sessions_.erase(found);
  uint64_t take = ++takes_;
  uint64_t base = restore.session.base;
  // The client takes the last string argument of any event as its offset, so an event sent to it
  // alone can leave text here: then it is replayed from where it connected (at least once) rather
  // than not at all.
  auto parsed = offset ? RecoveryOffset::parse(*offset) : std::nullopt;
  RecoveryOffset none;
  const RecoveryOffset& had = parsed ? *parsed : none;
  // Everything it lacks must still be in the log, or the client would miss some of it.
  bool lost = lost_after(base, had, false);
  if (!lost) {
    auto first =
        std::partition_point(log_.begin(), log_.end(), [base](const Entry& entry) { return entry.seq <= base; });
    for (auto entry = first; entry != log_.end(); ++entry)
      if (after(*entry, had)) restore.missed.push_back(*entry);
  }
  lock.unlock();
  if (watch_) watch_->session_taken(restore.session, take, !lost);
  if (lost) return std::nullopt;
  return restore;
}

Recovery::Missed Recovery::missed_since(const RecoveryOffset& offset, bool given_here) const {
  std::lock_guard lock(mutex_);
  Missed missed;
  missed.head = head_;
  missed.complete = !lost_after(0, offset, !given_here);
  for (const auto& entry : log_) {
    // Another node's count of unstamped broadcasts means nothing here, nor this node's to it.
    if (!given_here && entry.origin == 1) continue;
    if (after(entry, offset)) missed.entries.push_back(entry);
  }
  return missed;
}

size_t Recovery::prepend_history(std::vector<History> history) {
  auto wall_now = std::chrono::system_clock::now();
  auto now = Clock::now();
  std::lock_guard lock(mutex_);
  // Per origin, what it had before: history goes only below the first entry this log had of it.
  std::unordered_map<std::string, uint64_t> first_before;
  for (const auto& origin : origins_)
    if (!origin.retired && origin.first_seq != 0) first_before.emplace(origin.id, origin.first_seq);
  std::deque<Entry> older;
  std::string offset;  // the frontier of the history so far, as its entries' offsets
  std::unordered_map<std::string, uint64_t> frontier;
  for (auto& item : history) {
    auto emitted = now - std::chrono::duration_cast<Clock::duration>(wall_now - item.emitted);
    if (item.stamp.origin == self_ || emitted < now - config_.window) continue;
    auto first = first_before.find(item.stamp.origin);
    if (first != first_before.end() && item.stamp.seq >= first->second) continue;
    uint64_t& high = frontier[item.stamp.origin];
    if (item.stamp.seq <= high) continue;  // out of order: not ours to place
    high = item.stamp.seq;
    offset.clear();
    for (const auto& [id, seq] : frontier) append_offset_stamp(offset, id, seq);
    uint32_t index = origin_index(item.stamp.origin);
    item.packet.data.push_back(offset);
    auto packets = std::make_shared<ProtocolPackets>(to_engine_packets(item.packet));
    size_t bytes = sizeof(Entry) + sizeof(ProtocolPackets);
    for (const auto& packet : *packets->get(Encoding::Text)) bytes += packet.bytes->size();
    for (const auto& room : item.target.rooms) bytes += room.size();
    // Position 0: before every socket's own position, so never taken for something sent live.
    older.push_back(Entry{0, index, item.stamp.seq, std::move(packets), std::move(item.target), emitted, bytes});
    log_bytes_ += bytes;
  }
  // Each origin's run now starts lower; it is complete from there if nothing is missing between.
  std::unordered_map<uint32_t, std::vector<uint64_t>> seqs;
  for (const auto& entry : older) seqs[entry.origin].push_back(entry.origin_seq);
  for (auto& [index, list] : seqs) {
    Origin& origin = origins_[index];
    origin.in_log += list.size();
    uint64_t run_start = list.back();
    for (size_t i = list.size() - 1; i > 0 && list[i - 1] + 1 == list[i]; --i) run_start = list[i - 1];
    bool joins =
        origin.first_seq == 0 || (list.back() + 1 == origin.first_seq && origin.complete_from == origin.first_seq);
    if (origin.first_seq == 0) {
      origin.frontier = list.back();
      origin.complete_from = run_start;
    } else if (joins) {
      origin.complete_from = run_start;
    }
    origin.first_seq = list.front();
    origin.last_logged = std::max(origin.last_logged, now);
  }
  size_t taken = older.size();
  log_.insert(log_.begin(), std::make_move_iterator(older.begin()), std::make_move_iterator(older.end()));
  evict(now);
  return taken;
}

bool Recovery::forget(const std::string& pid) {
  std::unique_lock lock(mutex_);
  auto found = sessions_.find(pid);
  if (found == sessions_.end()) return false;
  RecoveredSession session = std::move(found->second);
  sessions_.erase(found);
  uint64_t take = ++takes_;
  lock.unlock();
  if (watch_) watch_->session_taken(session, take, false);
  return true;
}

size_t Recovery::log_entries() const {
  std::lock_guard lock(mutex_);
  return log_.size();
}

size_t Recovery::sessions() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace herald::socketio
