#include "engineio/admission.hpp"

#include <algorithm>

namespace herald::engineio {

Admission::Verdict Admission::admit(const std::string& address) {
  if (!enabled()) return Verdict::Admit;
  auto now = clock_.now();
  double burst = std::max(1.0, rate_ * 4);
  std::lock_guard lock(mutex_);
  auto [it, fresh] = entries_.try_emplace(address);
  Entry& entry = it->second;
  if (fresh) {
    entry.tokens = burst;
    entry.refilled = now;
  }
  if (max_sessions_ > 0 && entry.sessions >= max_sessions_) return Verdict::TooManySessions;
  if (rate_ > 0) {
    double elapsed = std::chrono::duration<double>(now - entry.refilled).count();
    entry.tokens = std::min(burst, entry.tokens + elapsed * rate_);
    entry.refilled = now;
    if (entry.tokens < 1) {
      if (entry.sessions == 0 && fresh) entries_.erase(it);
      return Verdict::TooFast;
    }
    entry.tokens -= 1;
  }
  ++entry.sessions;
  return Verdict::Admit;
}

void Admission::release(const std::string& address) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(address);
  if (it == entries_.end()) return;
  if (it->second.sessions > 0) --it->second.sessions;
  // Forget idle addresses once their bucket is full again, so the table does not grow forever.
  if (it->second.sessions == 0) {
    double elapsed = std::chrono::duration<double>(clock_.now() - it->second.refilled).count();
    if (rate_ == 0 || it->second.tokens + elapsed * rate_ >= std::max(1.0, rate_ * 4)) entries_.erase(it);
  }
}

size_t Admission::tracked() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace herald::engineio
