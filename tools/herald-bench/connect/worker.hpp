// One worker process of `herald-bench connect`: a single-threaded io_context running a share of
// the clients, started at the worker's share of the connection rate. It reports counters to the
// parent over a pipe every 200 ms and its final statistics when told to stop (SIGTERM/SIGINT).
#pragma once

#include <cstdint>

#include "connect/options.hpp"

namespace herald::bench {

struct WorkerPlan {
  uint64_t first_index = 0;  // global index of this worker's first client
  uint64_t share = 0;        // how many clients it runs
  double rate = 0;           // new connections per second
  int report_fd = -1;        // write end of the pipe to the parent
};

// Runs until stopped, writes the final report and exits the process (never returns).
[[noreturn]] void run_worker(const ConnectOptions& options, const WorkerPlan& plan);

}  // namespace herald::bench
