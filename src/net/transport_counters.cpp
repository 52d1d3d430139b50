#include "net/transport_counters.hpp"

namespace herald::net {

namespace {

TransportCounters& own_counters() {
  static TransportCounters counters;
  return counters;
}

// Read on every count: a relaxed load of a pointer costs what a plain read does.
std::atomic<TransportCounters*> current{&own_counters()};

}  // namespace

void count_transport_into(TransportCounters& counters) { current.store(&counters, std::memory_order_release); }

TransportCounters& transport_counters() { return *current.load(std::memory_order_acquire); }

}  // namespace herald::net
