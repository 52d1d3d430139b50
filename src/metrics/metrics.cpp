#include "metrics/metrics.hpp"

#include <fmt/format.h>

namespace herald::metrics {

Metrics& global() {
  static Metrics metrics;
  return metrics;
}

void Histogram::observe(std::chrono::microseconds value) {
  double seconds = static_cast<double>(value.count()) / 1e6;
  size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(0, value.count())), std::memory_order_relaxed);
  total_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBuckets[i], cumulative);
  }
  cumulative += counts_[kBuckets.size()].load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name,
                     static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6, name,
                     total_.load(std::memory_order_relaxed));
}

namespace {

void metric(std::string& out, const char* type, const std::string& name, const std::string& help,
            const std::string& lines) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{}", name, help, name, type, lines);
}

std::string value(const std::string& name, uint64_t v, const std::string& labels = {}) {
  return labels.empty() ? fmt::format("{} {}\n", name, v) : fmt::format("{}{{{}}} {}\n", name, labels, v);
}

uint64_t get(const Counter& counter) { return counter.load(std::memory_order_relaxed); }

}  // namespace

std::string render(const std::string& extra) {
  const Metrics& m = global();
  const net::TransportCounters& t = net::transport_counters();
  std::string out;
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - m.started);
  metric(out, "gauge", "herald_uptime_seconds", "Seconds since the process started",
         value("herald_uptime_seconds", static_cast<uint64_t>(uptime.count())));
  metric(out, "gauge", "herald_connections", "Open Engine.IO sessions by transport",
         value("herald_connections", get(t.polling_sessions), "transport=\"polling\"") +
             value("herald_connections", get(t.websocket_sessions), "transport=\"websocket\""));
  metric(out, "counter", "herald_sessions_opened_total", "Engine.IO sessions opened",
         value("herald_sessions_opened_total", get(t.sessions_opened)));
  metric(out, "counter", "herald_slow_clients_dropped_total", "Clients disconnected because they could not keep up",
         value("herald_slow_clients_dropped_total", get(t.slow_clients_dropped)));
  metric(out, "counter", "herald_recoveries_total", "Reconnecting clients by whether their state was recovered",
         value("herald_recoveries_total", get(t.recoveries), "result=\"recovered\"") +
             value("herald_recoveries_total", get(t.recovery_failures), "result=\"failed\"") +
             value("herald_recoveries_total", get(t.catch_ups), "result=\"caught_up\"") +
             value("herald_recoveries_total", get(t.partial_catch_ups), "result=\"caught_up_partly\""));
  metric(out, "counter", "herald_admin_logins_total", "Admin UI logins by result (refused: wrong or no credentials)",
         value("herald_admin_logins_total", get(m.admin_logins), "result=\"ok\"") +
             value("herald_admin_logins_total", get(m.admin_logins_refused), "result=\"refused\""));
  metric(out, "counter", "herald_connections_refused_total", "Connections refused by per-IP or handshake-rate limits",
         value("herald_connections_refused_total", get(t.connections_refused)));
  metric(out, "counter", "herald_descriptor_refusals_total",
         "Requests refused near the open-file limit (the last descriptors serve only /health, /ready, /metrics)",
         value("herald_descriptor_refusals_total", get(t.descriptor_refusals)));
  metric(out, "counter", "herald_tls_refusals_total",
         "TLS connections refused: failed or timed-out handshakes, plain HTTP sent to the TLS port",
         value("herald_tls_refusals_total", get(t.tls_handshake_failures), "reason=\"handshake\"") +
             value("herald_tls_refusals_total", get(t.tls_plain_http_refused), "reason=\"plain_http\""));
  metric(out, "counter", "herald_proxy_protocol_refusals_total",
         "Connections from trusted proxies refused for a missing or broken PROXY protocol header",
         value("herald_proxy_protocol_refusals_total", get(t.proxy_protocol_refusals)));
  metric(out, "counter", "herald_tls_reloads_total", "Certificate reloads (SIGHUP) by result",
         value("herald_tls_reloads_total", get(m.tls_reloads), "result=\"ok\"") +
             value("herald_tls_reloads_total", get(m.tls_reload_failures), "result=\"failed\""));
  metric(out, "counter", "herald_rejected_inputs_total",
         "Input refused as malformed or over a limit (nesting depth, item counts), by source",
         value("herald_rejected_inputs_total", get(t.rejected_client_packets), "source=\"client\"") +
             value("herald_rejected_inputs_total", get(m.rejected_api_requests), "source=\"api\"") +
             value("herald_rejected_inputs_total", get(m.rejected_cluster_messages), "source=\"cluster\""));
  metric(out, "counter", "herald_rejected_msgpack_packets_total",
         "Packets of msgpack-parser clients refused as malformed (their connections closed; counted in "
         "herald_rejected_inputs_total too)",
         value("herald_rejected_msgpack_packets_total", get(t.rejected_msgpack_packets)));
  metric(out, "counter", "herald_clients_by_parser_total", "Socket.IO connections by the parser they use",
         value("herald_clients_by_parser_total", get(t.default_clients), "parser=\"default\"") +
             value("herald_clients_by_parser_total", get(t.msgpack_clients), "parser=\"msgpack\""));
  metric(out, "counter", "herald_bytes_total", "Bytes received from and sent to clients",
         value("herald_bytes_total", get(t.bytes_in), "direction=\"in\"") +
             value("herald_bytes_total", get(t.bytes_out), "direction=\"out\""));
  metric(out, "counter", "herald_logins_total", "User logins", value("herald_logins_total", get(m.logins)));
  metric(out, "counter", "herald_auth_refused_total", "Connections refused by client authentication (bad or no token)",
         value("herald_auth_refused_total", get(m.auth_refused)));
  metric(out, "counter", "herald_pushes_total", "Pushes accepted by kind",
         value("herald_pushes_total", get(m.pushes_users), "kind=\"users\"") +
             value("herald_pushes_total", get(m.pushes_rooms), "kind=\"rooms\"") +
             value("herald_pushes_total", get(m.pushes_all), "kind=\"all\""));
  metric(out, "counter", "herald_deliveries_total", "Sockets reached by pushes (this node)",
         value("herald_deliveries_total", get(m.deliveries)));
  metric(out, "counter", "herald_receipts_total", "Delivery receipts (client acks) received",
         value("herald_receipts_total", get(m.receipts)));
  metric(out, "counter", "herald_receipt_timeouts_total", "Users reached who did not acknowledge in time",
         value("herald_receipt_timeouts_total", get(m.receipt_timeouts)));
  metric(out, "counter", "herald_silent_node_pushes_total",
         "Room and all pushes another Herald node did not answer (dead or too slow), kept for its users",
         value("herald_silent_node_pushes_total", get(m.pushes_kept_for_silent_nodes)));
  metric(out, "counter", "herald_silent_node_users_total",
         "Users of nodes that did not answer a push, for whom it was kept (one per push and user)",
         value("herald_silent_node_users_total", get(m.pushes_kept_for_silent_node_users)));
  metric(out, "counter", "herald_in_flight_keeps_total",
         "Room and all pushes kept for a session that dropped or came back while they were being sent",
         value("herald_in_flight_keeps_total", get(m.pushes_kept_in_flight)));
  metric(out, "counter", "herald_pending_total",
         "Acked pushes kept for users who had not acked them, and what became of them",
         value("herald_pending_total", get(m.pending_kept), "event=\"kept\"") +
             value("herald_pending_total", get(m.redeliveries), "event=\"redelivered\"") +
             value("herald_pending_total", get(m.late_receipts), "event=\"acked\"") +
             value("herald_pending_total", get(m.pending_expired), "event=\"expired\"") +
             value("herald_pending_total", get(m.pending_dropped), "event=\"dropped\"") +
             value("herald_pending_total", get(m.pending_buffered), "event=\"buffered\""));
  m.delivery_latency.render(out, "herald_delivery_latency_seconds", "From push accepted to client ack");
  int up = m.redis_up.load(std::memory_order_relaxed);
  if (up >= 0) {
    metric(out, "gauge", "herald_redis_up", "1 when both Redis connections are up", value("herald_redis_up", up));
    metric(out, "gauge", "herald_redis_master", "1 when Redis reports the master role",
           value("herald_redis_master", m.redis_master.load(std::memory_order_relaxed) ? 1 : 0));
    metric(out, "counter", "herald_redis_reconnects_total", "Redis reconnection attempts",
           value("herald_redis_reconnects_total", get(m.redis_reconnects)));
    metric(out, "counter", "herald_redis_failovers_total", "Master moves the sentinels announced (+switch-master)",
           value("herald_redis_failovers_total", get(m.redis_failovers)));
    metric(out, "counter", "herald_redis_redirects_total", "Redis Cluster MOVED / ASK redirections followed",
           value("herald_redis_redirects_total", get(m.redis_redirects)));
    int64_t latency = m.redis_latency_micros.load(std::memory_order_relaxed);
    out += fmt::format(
        "# HELP herald_redis_latency_seconds Last PING round trip\n# TYPE herald_redis_latency_seconds gauge\n"
        "herald_redis_latency_seconds {}\n",
        latency < 0 ? -1.0 : static_cast<double>(latency) / 1e6);
  }
  out += extra;
  return out;
}

}  // namespace herald::metrics
