// The server's process-wide counters and the /metrics text (Prometheus format), which shows them
// with the library's transport counters (net/transport_counters.hpp). Plain relaxed atomics: every
// loop adds to them without locks; a scrape reads them all.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "net/transport_counters.hpp"

namespace herald::metrics {

using Counter = std::atomic<uint64_t>;

// A latency histogram with fixed buckets (seconds), as Prometheus wants them: cumulative on output.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                      0.1,    0.2,   0.5,   1,     2,    5,    10};
  void observe(std::chrono::microseconds value);
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::array<Counter, kBuckets.size() + 1> counts_{};
  Counter sum_micros_{0};
  Counter total_{0};
};

struct Metrics {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // What the library counts (connections, bytes, refusals, clients, recoveries): main points it
  // here with net::count_transport_into, and render() shows whatever the library counts into.
  net::TransportCounters transport;
  Counter tls_reloads{0}, tls_reload_failures{0};
  // Input refused as malformed or over a limit, by where it came from (clients: the library's).
  Counter rejected_api_requests{0};
  Counter rejected_cluster_messages{0};
  // Push service.
  Counter logins{0};
  Counter auth_refused{0};  // connections refused by client authentication
  // Admin UI logins by result.
  Counter admin_logins{0}, admin_logins_refused{0};
  Counter pushes_users{0}, pushes_rooms{0}, pushes_all{0};
  Counter deliveries{0};        // sockets a push reached
  Counter receipts{0};          // acks received for pushes
  Counter receipt_timeouts{0};  // users reached who did not ack in time
  Histogram delivery_latency;   // push accepted -> ack received
  // At-least-once delivery of acked pushes.
  Counter pending_kept{0};     // (user, push) pairs kept because the user had not acked
  Counter redeliveries{0};     // kept pushes sent again to a user who came back
  Counter late_receipts{0};    // kept pushes acked on a later delivery
  Counter pending_expired{0};  // kept pushes whose time to live ended first
  Counter pending_dropped{0};  // kept pushes dropped by the per-user or total bound
  // Room and "all" pushes that a Herald node never counted (it died, or was too slow): kept for
  // the users presence records there.
  Counter pushes_kept_for_silent_nodes{0}, pushes_kept_for_silent_node_users{0};
  // Room and "all" pushes kept for a session that dropped or came back while they were being sent
  // (one per push and session).
  Counter pushes_kept_in_flight{0};
  Counter pending_buffered{0};  // kept in process while Redis was unreachable, written when it returns
  // Redis.
  std::atomic<int> redis_up{-1};  // -1: not configured
  Counter redis_reconnects{0};
  Counter redis_failovers{0};  // Sentinel: the master moved (+switch-master)
  Counter redis_redirects{0};  // Redis Cluster: MOVED / ASK redirections followed
  std::atomic<int64_t> redis_latency_micros{-1};
  std::atomic<bool> redis_master{false};
};

Metrics& global();

// The whole exposition, with `extra` (already formatted lines) appended.
std::string render(const std::string& extra = {});

}  // namespace herald::metrics
