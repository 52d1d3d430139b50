// Process-wide counters for /metrics (Prometheus text format). Plain relaxed atomics: every loop
// adds to them without locks; a scrape reads them all.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

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
  // Connections.
  Counter polling_sessions{0};  // gauges kept as counters of opens minus closes
  Counter websocket_sessions{0};
  Counter sessions_opened{0};
  Counter slow_clients_dropped{0};
  Counter recoveries{0};         // sockets that came back with their state (connection state recovery)
  Counter recovery_failures{0};  // clients that asked to and could not (unknown or expired pid, offset gone)
  Counter catch_ups{0};          // of those, sent what they missed once settled (another node's pid)
  Counter partial_catch_ups{0};  // ... of which some had left the log or never reached it
  Counter bytes_in{0};
  Counter bytes_out{0};
  Counter connections_refused{0};     // limits (per IP, handshake rate)
  Counter descriptor_refusals{0};     // requests refused on the last descriptors (kept for health checks)
  Counter tls_handshake_failures{0};  // TLS handshakes that failed or timed out
  Counter tls_plain_http_refused{0};  // plain HTTP sent to the TLS port
  Counter tls_reloads{0}, tls_reload_failures{0};
  Counter proxy_protocol_refusals{0};  // trusted proxies' connections without a valid PROXY header
  // Input refused as malformed or over a limit (too deep, too many items), by where it came from.
  Counter rejected_client_packets{0};
  Counter rejected_msgpack_packets{0};  // ... of which from msgpack-parser clients
  // Clients by the Socket.IO parser they use (told by their first message, or the setting).
  Counter default_clients{0}, msgpack_clients{0};
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
