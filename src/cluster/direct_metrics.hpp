// Counters of the direct path (cluster/direct_adapter.hpp), rendered into /metrics as
// herald_direct_pushes_total{event}.
#pragma once

#include <string>

#include "metrics/metrics.hpp"

namespace herald::cluster {

struct DirectMetrics {
  metrics::Counter sent{0};      // pushes sent to a node directly
  metrics::Counter failed{0};    // ... to a node that could not be reached, or whose link broke before it answered
  metrics::Counter fallback{0};  // pushes (or some of their users) sent through the adapter instead
  metrics::Counter received{0};  // pushes other nodes sent here directly

  // The Prometheus lines.
  std::string render() const;
};

DirectMetrics& direct_metrics();

}  // namespace herald::cluster
