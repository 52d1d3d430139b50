// Workers started afresh from the installed binary. The supervisor forks, and the child executes
// the program file again (execv) instead of running the supervisor's copy of the program: after a
// package upgrade, a reload (SIGHUP) brings up workers of the new version while the supervisor,
// and the listening sockets it holds, stay. The sockets and the readiness pipe cross execv as
// descriptors named in the environment:
//   HERALD_WORKER_INDEX  the worker's index
//   HERALD_LISTEN_FDS    its listening sockets, one per event loop, comma-separated
//   HERALD_READY_FD      where it writes its version once it accepts connections
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace herald::app {

// The program to execute for a worker, as the supervisor found it when it started. The path is
// executed again for every worker, so whatever file is installed there by then runs.
struct WorkerCommand {
  std::string executable;
  std::vector<std::string> arguments;  // argv, argv[0] included
};

// The running program's path (/proc/self/exe) and `argv`; nullopt (logged) when unreadable.
std::optional<WorkerCommand> this_program(int argc, char** argv);

// In a forked child: executes `command` as worker `index` with `listen_fds` and `ready_fd` kept open
// across execv. Returns only on failure, with errno set.
void exec_worker(const WorkerCommand& command, size_t index, const std::vector<int>& listen_fds, int ready_fd);

// In a worker started by exec_worker: its index, sockets and readiness callback. The variables are
// removed from the environment and the descriptors marked close-on-exec again, so nothing the
// worker starts inherits them. Throws std::runtime_error when the variables are malformed.
struct InheritedWorker {
  size_t index = 0;
  std::vector<int> listen_fds;
  std::function<void()> ready;  // writes the version to the supervisor, once
};
std::optional<InheritedWorker> inherited_worker(const std::string& version);

// The readiness callback of a worker: writes `version` to `fd` (one write, under PIPE_BUF, so the
// supervisor reads it whole) and closes it. Callable from any thread, more than once.
std::function<void()> readiness_writer(int fd, std::string version);

}  // namespace herald::app
