// The outcome of a `herald-bench churn` run and its report, as text and as JSON.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "churn/options.hpp"
#include "churn/stats.hpp"
#include "push/pusher.hpp"

namespace herald::bench {

struct ChurnResult {
  std::string server_url;     // as the clients reach it
  std::string nsp;            // the namespace they connect to
  std::string push_url;       // the push API, with its path
  std::string msg_id_prefix;  // the run's msgIds are this and the push's sequence number
  ChurnCounters counters;     // at the end, all workers together
  ChurnOutcome outcome;
  PushResult pushes;
  uint64_t pushes_unanswered = 0;  // still in flight when the run ended
  double connect_seconds = 0;      // until every client had connected
  double run_seconds = 0;
  std::string failure;                // why the run itself failed; empty when it did not
  std::vector<std::string> problems;  // e.g. a worker that died without reporting

  // Deliveries expected: every client gets every push sent.
  uint64_t expected() const { return counters.clients * pushes.sent; }
  double delivered_percent() const;
};

void print_churn_report(const ChurnResult& result, const ChurnOptions& options);
nlohmann::json churn_report_json(const ChurnResult& result, const ChurnOptions& options);

}  // namespace herald::bench
