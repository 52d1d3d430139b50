// The supervisor's event loop: signals, worker exits and readiness reports (supervisor_parts.hpp).
#include "app/supervisor.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "app/supervisor_parts.hpp"
#include "app/systemd_notify.hpp"

namespace herald::app::supervisor_detail {

std::string signal_name(int signal) {
  const char* abbrev = ::sigabbrev_np(signal);
  return abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", signal);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by {}{}", signal_name(WTERMSIG(status)), WCOREDUMP(status) ? " (core dumped)" : "");
  }
  return fmt::format("ended with status {}", status);
}

long long count_ms(Clock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

int Supervisor::run() {
  sigset_t handled;
  ::sigemptyset(&handled);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1}) ::sigaddset(&handled, s);
  // Blocked before the first fork, so no SIGCHLD can be missed.
  if (::sigprocmask(SIG_BLOCK, &handled, &original_mask_) != 0) {
    spdlog::critical("supervisor: sigprocmask: {}", std::strerror(errno));
    return 1;
  }
  signal_fd_ = ::signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) {
    spdlog::critical("supervisor: signalfd: {}", std::strerror(errno));
    return 1;
  }
  spdlog::info("supervisor (pid {}) starting {} workers", ::getpid(), slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) start_worker(i);

  int exit_code = 0;
  std::vector<pollfd> fds;
  std::vector<pid_t> fd_owners;
  while (!(stopping_ && children_.empty())) {
    on_timers();
    if (stopping_ && children_.empty()) break;
    fds.assign(1, pollfd{signal_fd_, POLLIN, 0});
    fd_owners.assign(1, -1);
    for (const auto& [pid, child] : children_) {
      if (child.ready_fd < 0) continue;
      fds.push_back(pollfd{child.ready_fd, POLLIN, 0});
      fd_owners.push_back(pid);
    }
    int n = ::poll(fds.data(), fds.size(), poll_timeout());
    if (n < 0) {
      if (errno == EINTR) continue;
      spdlog::critical("supervisor: poll: {}; killing every worker", std::strerror(errno));
      for (const auto& [pid, child] : children_) ::kill(pid, SIGKILL);
      exit_code = 1;
      break;
    }
    if (fds[0].revents) handle_signals();
    for (size_t i = 1; i < fds.size(); ++i) {
      // The child may have been reaped above, and its descriptor number reused since.
      auto it = children_.find(fd_owners[i]);
      if (fds[i].revents && it != children_.end() && it->second.ready_fd == fds[i].fd) on_ready_fd(it->first);
    }
  }
  ::close(signal_fd_);
  if (exit_code == 0) spdlog::info("supervisor: all workers stopped");
  return exit_code;
}

void Supervisor::handle_signals() {
  signalfd_siginfo info;
  while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    int s = static_cast<int>(info.ssi_signo);
    if (s == SIGTERM || s == SIGINT) begin_shutdown(s);
    if (s == SIGHUP) request_reload();
    if (s == SIGUSR1) forward_to_workers(s);
  }
  // SIGCHLDs coalesce; reaping on every wake-up is cheap and never misses one.
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) on_exit(pid, status);
}

void Supervisor::on_exit(pid_t pid, int status) {
  auto it = children_.find(pid);
  if (it == children_.end()) return;  // an alert sender
  Child child = it->second;
  if (child.ready_fd >= 0) ::close(child.ready_fd);
  children_.erase(it);
  auto now = Clock::now();
  auto how = describe_status(status);
  size_t i = child.index;
  Slot& slot = slots_[i];

  if (child.role == Role::retiring) {
    spdlog::info("worker {} (pid {}) {}", i, pid, how);
    if (reload_.retiring == pid) {
      spdlog::info("reload: worker {} replaced (pid {} -> pid {})", i, pid, slot.pid);
      reload_.retiring = -1;
      ++reload_.replaced;
      ++reload_.index;
      advance_reload();
    }
    return;
  }

  if (stopping_) {
    spdlog::info("worker {} (pid {}) {}", i, pid, how);
    if (slot.pid == pid) slot.pid = -1;
    return;
  }

  record_death(now);
  if (child.role == Role::candidate) {
    spdlog::error("reload: new worker {} (pid {}) {} before it was ready; keeping pid {}", i, pid, how, slot.pid);
    reload_.candidate = -1;
    ++reload_.failed;
    ++reload_.index;
    ensure_running(i);
    advance_reload();
    return;
  }

  slot.pid = -1;
  if (now - child.started > options_.stable_after) slot.quick_deaths = 0;
  if (reload_.active && reload_.candidate >= 0 && children_.at(reload_.candidate).index == i) {
    // Restarting it would race the replacement; if that fails, ensure_running starts one.
    spdlog::warn("worker {} (pid {}) {}; its replacement (pid {}) is starting", i, pid, how, reload_.candidate);
    return;
  }
  auto delay = next_backoff(slot);
  slot.restart_at = now + delay;
  spdlog::warn("worker {} (pid {}) {}; restarting in {} ms", i, pid, how, delay.count());
}

void Supervisor::on_ready_fd(pid_t pid) {
  Child& child = children_.at(pid);
  char version[512];  // the worker writes its version in one write (see readiness_writer)
  ssize_t n = ::read(child.ready_fd, version, sizeof version);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  ::close(child.ready_fd);
  child.ready_fd = -1;
  if (n <= 0) return;  // closed without a word: its exit or the ready timeout will tell
  child.ready = true;
  child.version.assign(version, static_cast<size_t>(n));
  child.ready_deadline.reset();
  auto up = count_ms(Clock::now() - child.started);
  if (child.role == Role::candidate) {
    promote(pid);
  } else if (child.role == Role::serving) {
    spdlog::info("worker {} (pid {}) ready after {} ms, running {}", child.index, pid, up, child.version);
    if (!announced_ready_ && all_ready()) {
      announced_ready_ = true;
      notify_systemd(fmt::format("READY=1\nSTATUS={} workers running {}", slots_.size(), child.version));
    }
  }
}
}  // namespace herald::app::supervisor_detail

namespace herald::app {

int supervise(const SupervisorOptions& options,
              const std::function<int(size_t index, std::function<void()> ready)>& run_worker) {
  if (options.workers == 0) {
    spdlog::critical("supervisor: needs at least one worker");
    return 2;
  }
  supervisor_detail::Supervisor supervisor(options, run_worker);
  return supervisor.run();
}

}  // namespace herald::app
