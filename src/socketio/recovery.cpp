#include "socketio/recovery.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include "engineio/base64.hpp"

namespace herald::socketio {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kMacBytes = 12;  // 96 bits: unguessable, and a short pid

std::string mac_text(const std::string& key, std::string_view sid) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  size_t length = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                 reinterpret_cast<const unsigned char*>(sid.data()), sid.size(), mac.data(), mac.size(), &length))
    throw std::runtime_error("HMAC-SHA256 failed");
  // URL-safe, as the socket id is.
  return engineio::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), kMacBytes));
}

}  // namespace

Recovery::Recovery(RecoveryConfig config) : config_(config), key_(kKeyBytes, '\0') {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size())) != 1)
    throw std::runtime_error("no random bytes for the recovery key");
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

std::string Recovery::offset_text(uint64_t seq) { return std::to_string(seq); }

uint64_t Recovery::head() const {
  std::lock_guard lock(mutex_);
  return head_;
}

void Recovery::evict(Clock::time_point now) {
  auto oldest = now - config_.window;
  while (!log_.empty() && (log_.front().emitted < oldest || log_bytes_ > config_.max_log_bytes)) {
    log_bytes_ -= log_.front().bytes;
    log_.pop_front();
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
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  session.disconnected = now;
  session_order_.emplace_back(now, pid);
  sessions_.insert_or_assign(std::move(pid), std::move(session));
  evict(now);
}

std::optional<Recovery::Restore> Recovery::restore(std::string_view pid, const std::optional<std::string>& offset) {
  std::lock_guard lock(mutex_);
  evict(Clock::now());
  auto found = sessions_.find(std::string(pid));
  if (found == sessions_.end()) return std::nullopt;
  Restore restore{std::move(found->second), {}, head_};
  sessions_.erase(found);
  uint64_t from = restore.session.base;
  if (offset) {
    // The client takes the last string argument of any event as its offset, so an event sent to
    // it alone can leave text here: then it is replayed from where it connected (at least once)
    // rather than not at all.
    uint64_t given = 0;
    auto [end, ec] = std::from_chars(offset->data(), offset->data() + offset->size(), given);
    if (ec == std::errc() && end == offset->data() + offset->size() && given <= head_ && given > from) from = given;
  }
  // Everything after `from` must still be in the log, or the client would miss some of it.
  uint64_t first_kept = log_.empty() ? head_ + 1 : log_.front().seq;
  if (from + 1 < first_kept) return std::nullopt;
  auto first = std::partition_point(log_.begin(), log_.end(), [from](const Entry& entry) { return entry.seq <= from; });
  restore.missed.assign(first, log_.end());
  return restore;
}

bool Recovery::forget(const std::string& pid) {
  std::lock_guard lock(mutex_);
  return sessions_.erase(pid) > 0;
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
