// The final report of `herald-bench connect`: connection phase, end state, and per message how
// many clients received it and how long it took; as text and as JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/histogram.hpp"
#include "connect/options.hpp"
#include "connect/stats.hpp"

namespace herald::bench {

struct MessageResult {
  std::string id;
  uint64_t received = 0;
  uint64_t expected = 0;
  bool all_received = false;
  bool stamped = false;  // latency from push (`t`) rather than from the first receipt
  LatencyHistogram latency;
};

struct ConnectResult {
  uint64_t amount = 0;
  Counters counters;           // at the end, all workers together
  double connect_seconds = 0;  // first start to the last client's first connect
  uint64_t initial_failures = 0;
  LatencyHistogram connect_latency;
  std::vector<MessageResult> messages;  // in order of first receipt
  LatencyHistogram all_latency;
  double run_seconds = 0;
  std::vector<std::string> problems;  // e.g. a worker that died without reporting

  // "all received", "receive timed out" or "no messages received".
  std::string verdict() const;
};

void print_connect_report(const ConnectResult& result, const ConnectOptions& options);
nlohmann::json connect_report_json(const ConnectResult& result, const ConnectOptions& options);

}  // namespace herald::bench
