#include "app/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace herald::app {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using RunWorker = std::function<int(size_t, std::function<void()>)>;

// Beyond the worker's own grace period, before SIGKILL: its shutdown needs a moment after the grace.
constexpr milliseconds kKillMargin{2000};
// After SIGKILL at shutdown, how long to wait for the kernel to reap before giving up.
constexpr milliseconds kReapMargin{1000};

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

enum class Role {
  serving,    // the worker of its index
  candidate,  // started by a reload, not ready yet; replaces the serving one once it is
  retiring,   // told to stop (or killed); its exit is expected
};

struct Child {
  size_t index = 0;
  Role role = Role::serving;
  int ready_fd = -1;  // read end of the readiness pipe until the byte (or EOF) arrives
  bool ready = false;
  bool killed = false;  // SIGKILL sent
  Clock::time_point started;
  std::optional<Clock::time_point> ready_deadline;
  std::optional<Clock::time_point> kill_at;  // retiring: SIGKILL then
};

struct Slot {
  pid_t pid = -1;  // the serving worker
  std::optional<Clock::time_point> restart_at;
  unsigned quick_deaths = 0;  // consecutive deaths of workers that lived less than stable_after
};

struct Reload {
  bool active = false;
  bool pending = false;  // a SIGHUP arrived during this reload
  size_t index = 0;
  pid_t candidate = -1;
  pid_t retiring = -1;
  size_t replaced = 0;
  size_t failed = 0;
};

class Supervisor {
 public:
  Supervisor(const SupervisorOptions& options, const RunWorker& run_worker)
      : options_(options), run_worker_(run_worker), slots_(options.workers) {}

  int run() {
    sigset_t handled;
    ::sigemptyset(&handled);
    for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) ::sigaddset(&handled, s);
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

 private:
  // --- Processes --------------------------------------------------------------------------------

  // Forks a worker for `index`; returns its pid, or -1 (logged).
  pid_t spawn(size_t index, Role role) {
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

  [[noreturn]] void run_child(size_t index, int ready_fd, pid_t parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    // The parent may have died before prctl: then nobody would ever stop this worker.
    if (::getppid() != parent) ::_exit(1);
    forget_parent_state(index);
    ::signal(SIGHUP, SIG_IGN);
    ::setenv("HERALD_WORKER_INDEX", std::to_string(index).c_str(), 1);
    auto fd = std::make_shared<std::atomic<int>>(ready_fd);
    std::function<void()> ready = [fd] {
      int f = fd->exchange(-1);
      if (f < 0) return;
      char byte = 'r';
      while (::write(f, &byte, 1) < 0 && errno == EINTR) {
      }
      ::close(f);
    };
    int code = 1;
    try {
      code = run_worker_(index, ready);
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
  void forget_parent_state(std::optional<size_t> worker = std::nullopt) {
    for (size_t i = 0; i < options_.inherited_fds.size(); ++i) {
      if (i != worker) close_inherited(i);
    }
    ::close(signal_fd_);
    for (const auto& [pid, child] : children_) {
      if (child.ready_fd >= 0) ::close(child.ready_fd);
    }
    ::sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
  }

  void start_worker(size_t index) {
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

  milliseconds next_backoff(Slot& slot) {
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
  void ensure_running(size_t index) {
    Slot& slot = slots_[index];
    if (stopping_ || slot.pid >= 0 || slot.restart_at) return;
    auto delay = next_backoff(slot);
    slot.restart_at = Clock::now() + delay;
    spdlog::warn("worker {} is not running; starting it in {} ms", index, delay.count());
  }

  void close_inherited(size_t index) {
    for (int fd : options_.inherited_fds[index]) ::close(fd);
  }

  // --- Events -----------------------------------------------------------------------------------

  void handle_signals() {
    signalfd_siginfo info;
    while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      int s = static_cast<int>(info.ssi_signo);
      if (s == SIGTERM || s == SIGINT) begin_shutdown(s);
      if (s == SIGHUP) request_reload();
    }
    // SIGCHLDs coalesce; reaping on every wake-up is cheap and never misses one.
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) on_exit(pid, status);
  }

  void on_exit(pid_t pid, int status) {
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

  void on_ready_fd(pid_t pid) {
    Child& child = children_.at(pid);
    char byte;
    ssize_t n = ::read(child.ready_fd, &byte, 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    ::close(child.ready_fd);
    child.ready_fd = -1;
    if (n != 1) return;  // closed without a word: its exit or the ready timeout will tell
    child.ready = true;
    child.ready_deadline.reset();
    auto up = count_ms(Clock::now() - child.started);
    if (child.role == Role::candidate) {
      promote(pid);
    } else if (child.role == Role::serving) {
      spdlog::info("worker {} (pid {}) ready after {} ms", child.index, pid, up);
    }
  }

  // A reload's new worker is ready: it becomes the worker of its index and the old one stops.
  void promote(pid_t pid) {
    Child& child = children_.at(pid);
    Slot& slot = slots_[child.index];
    pid_t old = slot.pid;
    child.role = Role::serving;
    slot.pid = pid;
    slot.restart_at.reset();
    reload_.candidate = -1;
    auto old_it = children_.find(old);
    if (old_it != children_.end()) {
      spdlog::info("reload: worker {} (pid {}) ready; stopping pid {}", child.index, pid, old);
      retire(old, old_it->second);
      reload_.retiring = old;
    } else {
      spdlog::info("reload: worker {} (pid {}) ready; it had no worker to replace", child.index, pid);
      ++reload_.replaced;
      ++reload_.index;
      advance_reload();
    }
  }

  void retire(pid_t pid, Child& child) {
    child.role = Role::retiring;
    child.ready_deadline.reset();
    child.kill_at = Clock::now() + options_.shutdown_grace + kKillMargin;
    ::kill(pid, SIGTERM);
  }

  void on_timers() {
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

  // When the crash loop can be declared over: every worker ready and up for stable_after.
  std::optional<Clock::time_point> recovery_check_at() const {
    if (!crash_loop_ || stopping_) return std::nullopt;
    Clock::time_point latest{};
    for (const auto& slot : slots_) {
      auto it = children_.find(slot.pid);
      if (it == children_.end() || !it->second.ready) return std::nullopt;
      latest = std::max(latest, it->second.started);
    }
    return latest + options_.stable_after;
  }

  int poll_timeout() const {
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

  void record_death(Clock::time_point now) {
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

  // The callback runs in its own process: alert senders use threads, and a parent with threads
  // could not fork workers safely any more.
  void send_alert(const std::string& kind, const std::string& text) {
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

  // --- Reload and shutdown ----------------------------------------------------------------------

  void request_reload() {
    if (stopping_) return;
    if (reload_.active) {
      if (!reload_.pending) spdlog::info("reload: SIGHUP during a reload; another one follows it");
      reload_.pending = true;
      return;
    }
    spdlog::info("reload: replacing {} workers one by one", slots_.size());
    reload_ = Reload{};
    reload_.active = true;
    advance_reload();
  }

  // Starts the next step of the reload unless one is under way.
  void advance_reload() {
    while (reload_.active && !stopping_ && reload_.candidate < 0 && reload_.retiring < 0) {
      if (reload_.index >= slots_.size()) {
        if (reload_.failed) {
          spdlog::error("reload: done, {} workers replaced, {} kept their old process", reload_.replaced,
                        reload_.failed);
        } else {
          spdlog::info("reload: done, {} workers replaced", reload_.replaced);
        }
        bool again = reload_.pending;
        reload_ = Reload{};
        if (again) {
          spdlog::info("reload: replacing {} workers one by one (queued SIGHUP)", slots_.size());
          reload_.active = true;
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

  void begin_shutdown(int signal) {
    if (stopping_) {
      spdlog::info("received {} again; still waiting for {} workers", signal_name(signal), children_.size());
      return;
    }
    stopping_ = true;
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

  const SupervisorOptions& options_;
  const RunWorker& run_worker_;
  std::vector<Slot> slots_;
  std::map<pid_t, Child> children_;
  Reload reload_;
  int signal_fd_ = -1;
  sigset_t original_mask_{};
  bool stopping_ = false;
  bool shutdown_killed_ = false;
  Clock::time_point shutdown_kill_at_{};
  std::deque<Clock::time_point> deaths_;  // within crash_loop_window
  bool crash_loop_ = false;
};

}  // namespace

int supervise(const SupervisorOptions& options,
              const std::function<int(size_t index, std::function<void()> ready)>& run_worker) {
  if (options.workers == 0) {
    spdlog::critical("supervisor: needs at least one worker");
    return 2;
  }
  Supervisor supervisor(options, run_worker);
  return supervisor.run();
}

}  // namespace herald::app
