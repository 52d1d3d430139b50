// `herald --workers N`: the process supervisor that pm2 was for the Node server. It forks N worker
// processes that each run the whole server on the same port (SO_REUSEPORT), restarts a worker that
// dies (with backoff, and an alert when they keep dying), replaces the workers one by one on SIGHUP
// without a moment where nobody serves, passes SIGUSR1 (reload the TLS certificate) on to every
// worker, and stops them all on SIGTERM / SIGINT.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app/worker_exec.hpp"

namespace herald::app {

struct SupervisorOptions {
  size_t workers = 1;
  std::chrono::milliseconds shutdown_grace{3000};  // SIGTERM to workers, then SIGKILL after grace + 2 s
  std::chrono::milliseconds ready_timeout{10000};  // a new worker must report ready within this
  std::chrono::milliseconds restart_backoff_min{100};
  std::chrono::milliseconds restart_backoff_max{10000};
  size_t crash_loop_restarts = 5;  // this many deaths within crash_loop_window is a crash loop (0: never)
  std::chrono::milliseconds crash_loop_window{60000};
  // A worker up this long is healthy: its backoff starts over, and a crash loop ends once every
  // worker is.
  std::chrono::milliseconds stable_after{30000};
  // Called with "worker_crash_loop" once per crash loop and "worker_recovered" when it ends; may be
  // null. It runs in a short-lived child process, so it may block or start threads (notify::Alerter
  // does) without making the supervisor's later forks unsafe; it cannot change the parent's state.
  std::function<void(const std::string& kind, const std::string& text)> alert;
  // Descriptors opened for the workers (their listening sockets): worker i keeps inherited_fds[i]
  // and closes the others. The supervisor holds them all until it shuts down, so they outlive every
  // worker and pass from a worker to its replacement.
  std::vector<std::vector<int>> inherited_fds;
  // Set: each worker executes this program afresh (see worker_exec.hpp), so a reload runs the
  // binary installed now, and run_worker is not called. Unset: the forked child calls run_worker.
  std::optional<WorkerCommand> worker_command;
  // What a forked worker (no worker_command) reports as its version when ready.
  std::string version = "unknown version";
};

// Runs in the parent process, which must not have started any thread (it forks). Forks
// `options.workers` children; each child executes options.worker_command, or calls
// run_worker(index, ready) and exits with its return value; the worker reports ready (its version,
// which the parent logs) once it is accepting connections (the parent waits for that before it
// stops an old worker during a reload). Returns the exit code for the parent (0 after
// SIGTERM/SIGINT once all workers are gone).
//
// Each child gets HERALD_WORKER_INDEX=<index> in its environment, SIGTERM when the parent dies,
// the parent's original signal mask and SIGHUP ignored (reloads are the parent's business), SIGUSR1
// ignored until the worker handles it. ready() may be called from any thread, more than once. The
// parent keeps SIGCHLD, SIGTERM, SIGINT, SIGHUP and SIGUSR1 blocked when supervise() returns, so
// that a late signal cannot kill it while it exits.
int supervise(const SupervisorOptions& options,
              const std::function<int(size_t index, std::function<void()> ready)>& run_worker);

}  // namespace herald::app
