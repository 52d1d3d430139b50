// The supervisor replaces its workers one by one on SIGHUP and stops them all on SIGTERM / SIGINT.
#include "app/supervisor_parts.hpp"
#include "app/systemd_notify.hpp"

namespace herald::app::supervisor_detail {

// A reload's new worker is ready: it becomes the worker of its index and the old one stops.
void Supervisor::promote(pid_t pid) {
  Child& child = children_.at(pid);
  Slot& slot = slots_[child.index];
  pid_t old = slot.pid;
  child.role = Role::serving;
  slot.pid = pid;
  slot.restart_at.reset();
  reload_.candidate = -1;
  auto old_it = children_.find(old);
  if (old_it != children_.end()) {
    spdlog::info("reload: worker {} (pid {}) ready; stopping pid {}; the new worker runs {}", child.index, pid, old,
                 child.version);
    retire(old, old_it->second);
    reload_.retiring = old;
  } else {
    spdlog::info("reload: worker {} (pid {}) ready, running {}; it had no worker to replace", child.index, pid,
                 child.version);
    ++reload_.replaced;
    ++reload_.index;
    advance_reload();
  }
}

void Supervisor::retire(pid_t pid, Child& child) {
  child.role = Role::retiring;
  child.ready_deadline.reset();
  child.kill_at = Clock::now() + options_.shutdown_grace + kKillMargin;
  ::kill(pid, SIGTERM);
}

void Supervisor::request_reload() {
  if (stopping_) return;
  if (reload_.active) {
    if (!reload_.pending) spdlog::info("reload: SIGHUP during a reload; another one follows it");
    reload_.pending = true;
    return;
  }
  spdlog::info("reload: replacing {} workers one by one", slots_.size());
  notify_systemd("RELOADING=1\nSTATUS=reloading: replacing the workers one by one");
  reload_ = Reload{};
  reload_.active = true;
  advance_reload();
}

// Starts the next step of the reload unless one is under way.
void Supervisor::advance_reload() {
  while (reload_.active && !stopping_ && reload_.candidate < 0 && reload_.retiring < 0) {
    if (reload_.index >= slots_.size()) {
      if (reload_.failed) {
        spdlog::error("reload: done, {} workers replaced, {} kept their old process", reload_.replaced, reload_.failed);
      } else {
        spdlog::info("reload: done, {} workers replaced", reload_.replaced);
      }
      bool again = reload_.pending;
      reload_ = Reload{};
      if (again) {
        spdlog::info("reload: replacing {} workers one by one (queued SIGHUP)", slots_.size());
        reload_.active = true;
      } else {
        notify_systemd(fmt::format("READY=1\nSTATUS={} workers", slots_.size()));
      }
      continue;
    }
    size_t i = reload_.index;
    pid_t old = slots_[i].pid;
    pid_t pid = spawn(i, Role::candidate);
    if (pid < 0) {
      spdlog::error("reload: no new worker {}; keeping pid {}", i, old);
      ++reload_.failed;
      ++reload_.index;
      continue;
    }
    // A dead slot's pending restart would race the new worker.
    slots_[i].restart_at.reset();
    reload_.candidate = pid;
    spdlog::info("reload: worker {} (pid {}) started to replace pid {}", i, pid, old);
  }
}

void Supervisor::begin_shutdown(int signal) {
  if (stopping_) {
    spdlog::info("received {} again; still waiting for {} workers", signal_name(signal), children_.size());
    return;
  }
  stopping_ = true;
  notify_systemd("STOPPING=1");
  reload_ = Reload{};
  // The workers now take what is queued on their sockets and close them; nothing may keep a
  // socket open past that, or connections would wait in it for a worker that never comes.
  for (size_t i = 0; i < options_.inherited_fds.size(); ++i) close_inherited(i);
  for (auto& slot : slots_) slot.restart_at.reset();
  spdlog::info("received {}: stopping {} workers", signal_name(signal), children_.size());
  for (auto& [pid, child] : children_) {
    child.ready_deadline.reset();
    ::kill(pid, SIGTERM);
  }
  shutdown_kill_at_ = Clock::now() + options_.shutdown_grace + kKillMargin;
}
}  // namespace herald::app::supervisor_detail
