// The supervisor's state and its jobs, one file each (see supervisor.hpp for what it does):
// supervisor.cpp runs the event loop (signals, worker exits, readiness), supervisor_processes.cpp
// forks workers and alert senders, supervisor_deadlines.cpp keeps the time-driven work (restarts,
// ready and kill deadlines, the crash loop), supervisor_reload.cpp replaces workers on SIGHUP and
// stops them all on SIGTERM. Private to src/app.
#pragma once

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/types.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/supervisor.hpp"

namespace herald::app::supervisor_detail {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using RunWorker = std::function<int(size_t, std::function<void()>)>;

// Beyond the worker's own grace period, before SIGKILL: its shutdown needs a moment after the grace.
constexpr milliseconds kKillMargin{2000};
// After SIGKILL at shutdown, how long to wait for the kernel to reap before giving up.
constexpr milliseconds kReapMargin{1000};

std::string signal_name(int signal);
std::string describe_status(int status);
long long count_ms(Clock::duration d);

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
  std::string version;                       // as the worker reported it when ready
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

  int run();

 private:
  // --- Events (supervisor.cpp) ---
  void handle_signals();
  void on_exit(pid_t pid, int status);
  void on_ready_fd(pid_t pid);

  // --- Processes (supervisor_processes.cpp) ---
  // Forks a worker for `index`; returns its pid, or -1 (logged).
  pid_t spawn(size_t index, Role role);
  [[noreturn]] void run_child(size_t index, int ready_fd, pid_t parent);
  // In a forked child: drops what belongs to the supervisor, and the descriptors meant for other
  // workers (all of them in a child that is no worker).
  void forget_parent_state(std::optional<size_t> worker = std::nullopt);
  void start_worker(size_t index);
  milliseconds next_backoff(Slot& slot);
  // A slot left without a worker (its replacement failed) gets one after the usual backoff.
  void ensure_running(size_t index);
  // SIGUSR1: every worker reloads its TLS certificate in place, keeping its connections.
  void forward_to_workers(int signal);
  void close_inherited(size_t index);
  // The callback runs in its own process: alert senders use threads, and a parent with threads
  // could not fork workers safely any more.
  void send_alert(const std::string& kind, const std::string& text);

  // --- Deadlines and the crash loop (supervisor_deadlines.cpp) ---
  void on_timers();
  bool all_ready() const;
  // When the crash loop can be declared over: every worker ready and up for stable_after.
  std::optional<Clock::time_point> recovery_check_at() const;
  int poll_timeout() const;
  void record_death(Clock::time_point now);

  // --- Reload and shutdown (supervisor_reload.cpp) ---
  // A reload's new worker is ready: it becomes the worker of its index and the old one stops.
  void promote(pid_t pid);
  void retire(pid_t pid, Child& child);
  void request_reload();
  // Starts the next step of the reload unless one is under way.
  void advance_reload();
  void begin_shutdown(int signal);

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
  bool announced_ready_ = false;  // READY=1 sent to systemd
};

}  // namespace herald::app::supervisor_detail
