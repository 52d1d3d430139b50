// The supervisor's time-driven work: restarts after backoff, ready and kill deadlines, the crash loop.
#include <algorithm>
#include <climits>

#include "app/supervisor_parts.hpp"

namespace herald::app::supervisor_detail {

void Supervisor::on_timers() {
  auto now = Clock::now();
  if (stopping_) {
    if (!shutdown_killed_ && now >= shutdown_kill_at_) {
      spdlog::warn("{} workers still running {} ms after SIGTERM; killing them", children_.size(),
                   count_ms(options_.shutdown_grace + kKillMargin));
      for (auto& [pid, child] : children_) ::kill(pid, SIGKILL);
      shutdown_killed_ = true;
      shutdown_kill_at_ = now + kReapMargin;
    } else if (shutdown_killed_ && now >= shutdown_kill_at_) {
      spdlog::error("{} workers did not die after SIGKILL; leaving them", children_.size());
      children_.clear();
    }
    return;
  }

  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].restart_at && now >= *slots_[i].restart_at) start_worker(i);
  }

  std::vector<pid_t> late;
  std::vector<pid_t> stuck;
  for (const auto& [pid, child] : children_) {
    if (child.ready_deadline && now >= *child.ready_deadline) late.push_back(pid);
    if (child.kill_at && !child.killed && now >= *child.kill_at) stuck.push_back(pid);
  }
  for (pid_t pid : late) {
    Child& child = children_.at(pid);
    child.ready_deadline.reset();
    child.killed = true;
    ::kill(pid, SIGKILL);
    auto waited = options_.ready_timeout.count();
    if (child.role == Role::candidate) {
      spdlog::error("reload: new worker {} (pid {}) not ready within {} ms; killed it, keeping pid {}", child.index,
                    pid, waited, slots_[child.index].pid);
      child.role = Role::retiring;
      reload_.candidate = -1;
      ++reload_.failed;
      ++reload_.index;
      ensure_running(child.index);
    } else {
      // A worker that never accepts would still get its share of connections through SO_REUSEPORT.
      spdlog::error("worker {} (pid {}) not ready within {} ms; killing it", child.index, pid, waited);
    }
  }
  for (pid_t pid : stuck) {
    Child& child = children_.at(pid);
    child.killed = true;
    ::kill(pid, SIGKILL);
    spdlog::warn("worker {} (pid {}) did not stop within {} ms; killing it", child.index, pid,
                 count_ms(options_.shutdown_grace + kKillMargin));
  }
  if (!late.empty()) advance_reload();

  if (auto at = recovery_check_at(); at && now >= *at) {
    crash_loop_ = false;
    deaths_.clear();
    auto text = fmt::format("all {} workers have been up for {} s", slots_.size(),
                            std::chrono::duration_cast<std::chrono::seconds>(options_.stable_after).count());
    spdlog::info("crash loop over: {}", text);
    send_alert("worker_recovered", text);
  }
}

bool Supervisor::all_ready() const {
  return std::all_of(slots_.begin(), slots_.end(), [this](const Slot& slot) {
    auto it = children_.find(slot.pid);
    return it != children_.end() && it->second.ready;
  });
}

// When the crash loop can be declared over: every worker ready and up for stable_after.
std::optional<Clock::time_point> Supervisor::recovery_check_at() const {
  if (!crash_loop_ || stopping_) return std::nullopt;
  Clock::time_point latest{};
  for (const auto& slot : slots_) {
    auto it = children_.find(slot.pid);
    if (it == children_.end() || !it->second.ready) return std::nullopt;
    latest = std::max(latest, it->second.started);
  }
  return latest + options_.stable_after;
}

int Supervisor::poll_timeout() const {
  std::optional<Clock::time_point> next;
  auto consider = [&next](const std::optional<Clock::time_point>& t) {
    if (t && (!next || *t < *next)) next = t;
  };
  if (stopping_) {
    consider(shutdown_kill_at_);
  } else {
    for (const auto& slot : slots_) consider(slot.restart_at);
    for (const auto& [pid, child] : children_) {
      consider(child.ready_deadline);
      if (!child.killed) consider(child.kill_at);
    }
    consider(recovery_check_at());
  }
  if (!next) return -1;
  auto wait = std::chrono::ceil<milliseconds>(*next - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(wait, 0, INT_MAX));
}

void Supervisor::record_death(Clock::time_point now) {
  if (options_.crash_loop_restarts == 0) return;
  deaths_.push_back(now);
  while (!deaths_.empty() && now - deaths_.front() > options_.crash_loop_window) deaths_.pop_front();
  if (crash_loop_ || deaths_.size() < options_.crash_loop_restarts) return;
  crash_loop_ = true;
  auto text = fmt::format("{} worker deaths within {} s; restarting them every {} ms until all stay up {} s",
                          deaths_.size(), count_ms(options_.crash_loop_window) / 1000,
                          options_.restart_backoff_max.count(), count_ms(options_.stable_after) / 1000);
  spdlog::error("crash loop: {}", text);
  send_alert("worker_crash_loop", text);
}
}  // namespace herald::app::supervisor_detail
