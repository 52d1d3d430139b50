// The supervisor forks: workers (executed afresh or running in the child) and alert senders.
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "app/supervisor_parts.hpp"

namespace herald::app::supervisor_detail {

// Forks a worker for `index`; returns its pid, or -1 (logged).
pid_t Supervisor::spawn(size_t index, Role role) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    spdlog::error("worker {}: pipe: {}", index, std::strerror(errno));
    return -1;
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    run_child(index, pipe_fds[1], parent);
  }
  int fork_errno = errno;
  ::close(pipe_fds[1]);  // else the next workers would inherit it
  if (pid < 0) {
    ::close(pipe_fds[0]);
    spdlog::error("worker {}: fork: {}", index, std::strerror(fork_errno));
    return -1;
  }
  auto now = Clock::now();
  Child child;
  child.index = index;
  child.role = role;
  child.ready_fd = pipe_fds[0];
  child.started = now;
  child.ready_deadline = now + options_.ready_timeout;
  children_.emplace(pid, child);
  return pid;
}

void Supervisor::run_child(size_t index, int ready_fd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  // The parent may have died before prctl: then nobody would ever stop this worker.
  if (::getppid() != parent) ::_exit(1);
  forget_parent_state(index);
  ::signal(SIGHUP, SIG_IGN);  // kept across execv
  // SIGUSR1 (reload the TLS certificate) is handled once the worker listens; until then the files
  // it just read are the newest anyway. Also kept across execv.
  ::signal(SIGUSR1, SIG_IGN);
  ::unsetenv("NOTIFY_SOCKET");  // the supervisor alone speaks to systemd (NotifyAccess=main)
  if (options_.worker_command) {
    static const std::vector<int> kNone;
    exec_worker(*options_.worker_command, index,
                index < options_.inherited_fds.size() ? options_.inherited_fds[index] : kNone, ready_fd);
    spdlog::critical("worker {}: cannot execute {}: {}", index, options_.worker_command->executable,
                     std::strerror(errno));
    spdlog::default_logger()->flush();
    ::_exit(127);
  }
  ::setenv("HERALD_WORKER_INDEX", std::to_string(index).c_str(), 1);
  int code = 1;
  try {
    code = run_worker_(index, readiness_writer(ready_fd, options_.version));
  } catch (const std::exception& e) {
    spdlog::critical("worker {}: {}", index, e.what());
  } catch (...) {
    spdlog::critical("worker {}: unknown exception", index);
  }
  spdlog::default_logger()->flush();
  std::fflush(nullptr);
  // _exit: atexit handlers and static destructors belong to the parent's copy of the program.
  ::_exit(code);
}

// In a forked child: drops what belongs to the supervisor, and the descriptors meant for other
// workers (all of them in a child that is no worker).
void Supervisor::forget_parent_state(std::optional<size_t> worker) {
  for (size_t i = 0; i < options_.inherited_fds.size(); ++i) {
    if (i != worker) close_inherited(i);
  }
  ::close(signal_fd_);
  for (const auto& [pid, child] : children_) {
    if (child.ready_fd >= 0) ::close(child.ready_fd);
  }
  ::sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
}

void Supervisor::start_worker(size_t index) {
  Slot& slot = slots_[index];
  slot.restart_at.reset();
  pid_t pid = spawn(index, Role::serving);
  if (pid < 0) {
    auto delay = next_backoff(slot);
    slot.restart_at = Clock::now() + delay;
    spdlog::error("worker {} could not be started; retrying in {} ms", index, delay.count());
    return;
  }
  slot.pid = pid;
  spdlog::info("worker {} (pid {}) started", index, pid);
}

milliseconds Supervisor::next_backoff(Slot& slot) {
  if (crash_loop_) {
    ++slot.quick_deaths;
    return options_.restart_backoff_max;
  }
  auto delay = options_.restart_backoff_min;
  for (unsigned i = 0; i < slot.quick_deaths && delay < options_.restart_backoff_max; ++i) delay *= 2;
  ++slot.quick_deaths;
  return std::min(delay, options_.restart_backoff_max);
}

// A slot left without a worker (its replacement failed) gets one after the usual backoff.
void Supervisor::ensure_running(size_t index) {
  Slot& slot = slots_[index];
  if (stopping_ || slot.pid >= 0 || slot.restart_at) return;
  auto delay = next_backoff(slot);
  slot.restart_at = Clock::now() + delay;
  spdlog::warn("worker {} is not running; starting it in {} ms", index, delay.count());
}

// SIGUSR1: every worker reloads its TLS certificate in place, keeping its connections.
void Supervisor::forward_to_workers(int signal) {
  spdlog::info("supervisor: passing signal {} to {} workers", signal, children_.size());
  for (const auto& [pid, child] : children_) ::kill(pid, signal);
}

void Supervisor::close_inherited(size_t index) {
  for (int fd : options_.inherited_fds[index]) ::close(fd);
}

// The callback runs in its own process: alert senders use threads, and a parent with threads
// could not fork workers safely any more.
void Supervisor::send_alert(const std::string& kind, const std::string& text) {
  if (!options_.alert) return;
  pid_t pid = ::fork();
  if (pid < 0) {
    spdlog::error("alert {} not sent: fork: {}", kind, std::strerror(errno));
    return;
  }
  if (pid > 0) return;  // reaped with the workers; on_exit ignores it
  forget_parent_state();
  int code = 0;
  try {
    options_.alert(kind, text);
  } catch (const std::exception& e) {
    spdlog::error("alert {} not sent: {}", kind, e.what());
    code = 1;
  }
  spdlog::default_logger()->flush();
  std::fflush(nullptr);
  ::_exit(code);
}
}  // namespace herald::app::supervisor_detail
