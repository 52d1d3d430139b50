// One worker process of `herald-bench churn`: a single-threaded io_context running a share of the
// clients. The parent steers it with signals (SIGUSR1: start dropping connections, SIGUSR2: stop,
// SIGTERM: report and exit); it reports counters every 200 ms and its clients' results at the end.
#pragma once

#include <cstdint>
#include <string>

#include "churn/options.hpp"

namespace herald::bench {

struct ChurnWorkerPlan {
  uint64_t first_index = 0;  // index of this worker's first client
  uint64_t share = 0;        // how many clients it runs
  double connect_rate = 0;   // new connections per second at the start
  std::string msg_id_prefix;
  int report_fd = -1;  // write end of the pipe to the parent
};

// Runs until told to stop, writes the final report and exits the process (never returns).
[[noreturn]] void run_churn_worker(const ChurnOptions& options, const ChurnWorkerPlan& plan);

}  // namespace herald::bench
