// The churn report: text on stdout, JSON for -o.
#include "churn/report.hpp"

#include <fmt/core.h>

#include "common/histogram.hpp"

namespace herald::bench {
namespace {

double percent(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

std::string kinds_text(const std::array<uint64_t, kErrorKinds>& counts) {
  std::string text;
  for (size_t i = 0; i < kErrorKinds; ++i)
    if (counts[i]) text += fmt::format("{}{} {}", text.empty() ? " (" : ", ", error_kind_name(i), counts[i]);
  return text.empty() ? text : text + ")";
}

std::string latency_text(const LatencyHistogram& h) {
  if (h.count() == 0) return "none";
  return fmt::format("p50 {:.1f}  p99 {:.1f}  max {:.1f}", ms(h.percentile(0.5)), ms(h.percentile(0.99)), ms(h.max()));
}

}  // namespace

double ChurnResult::delivered_percent() const { return percent(counters.distinct, expected()); }

void print_churn_report(const ChurnResult& r, const ChurnOptions& options) {
  const auto& c = r.counters;
  fmt::print(
      "\n== herald-bench churn: {} clients on {} (namespace {}); {:g} s of pushes at {:g}/s (ack {}) to {}; drop every "
      "{} +- {} ms, "
      "offline {} ms, drain {} ms ==\n",
      c.clients, r.server_url, r.nsp, options.duration_s, options.rate, options.ack ? "true" : "false", r.push_url,
      options.drop_every_ms, options.drop_jitter_ms, options.offline_ms, options.drain_ms);
  fmt::print("pushes: sent {}, ok {}, failed {}{}; HTTP latency ms {}\n", r.pushes.sent, r.pushes.ok,
             r.pushes.failed_total(),
             r.pushes_unanswered ? fmt::format(", {} unanswered at the end", r.pushes_unanswered) : "",
             latency_text(r.pushes.latency));
  if (!r.pushes.last_error.empty()) fmt::print("last push error: {}\n", r.pushes.last_error);
  fmt::print("delivered: {:.2f}% ({} of {} = {} clients x {} pushes), missed {}, duplicates {}\n",
             r.delivered_percent(), c.distinct, r.expected(), c.clients, r.pushes.sent,
             r.expected() > c.distinct ? r.expected() - c.distinct : 0, c.duplicates);
  if (c.foreign) fmt::print("other `message` events (not this run's msgIds): {}\n", c.foreign);
  fmt::print("connections: drops {}, lost otherwise {}{}, failed attempts {}{}\n", c.drops, c.lost_total(),
             kinds_text(c.lost), c.failed_attempts_total(), kinds_text(c.failed_attempts));
  fmt::print("reconnects: {}, recovered {}, not recovered {}\n", c.reconnects, c.recovered, c.reconnects - c.recovered);
  fmt::print("latency ms (push to receipt, {} deliveries): {}\n", r.outcome.latency.count(),
             latency_text(r.outcome.latency));
  if (r.outcome.worst_latency.count())
    fmt::print("per-client worst latency ms: {} (slowest {})\n", latency_text(r.outcome.worst_latency),
               r.outcome.slowest.uid);
  if (r.outcome.clients && r.pushes.sent)
    fmt::print("fewest received: {}, {} of {} ({:.1f}%)\n", r.outcome.fewest.uid, r.outcome.fewest.distinct,
               r.pushes.sent, percent(r.outcome.fewest.distinct, r.pushes.sent));
  if (!r.outcome.missed.empty()) {
    std::string pairs;
    for (const auto& [uid, sequence] : r.outcome.missed)
      pairs += fmt::format("{}{} {}{}", pairs.empty() ? "" : ", ", uid, r.msg_id_prefix, sequence);
    fmt::print("missed (up to {}): {}\n", ChurnOutcome::kMissedShown, pairs);
  }
  fmt::print("end: {} of {} clients connected; {}; ran {:.1f} s\n", c.connected, c.clients,
             r.connect_seconds > 0 ? fmt::format("all had connected {:.2f} s after the start", r.connect_seconds)
                                   : std::string("never all connected at once"),
             r.run_seconds);
  for (const auto& problem : r.problems) fmt::print("problem: {}\n", problem);
  if (!r.failure.empty()) fmt::print("\nRUN FAILED: {}\n", r.failure);
  std::fflush(stdout);
}

nlohmann::json churn_report_json(const ChurnResult& r, const ChurnOptions& options) {
  const auto& c = r.counters;
  nlohmann::json failed = nlohmann::json::object();
  for (size_t i = 0; i < kPushFailureKinds; ++i)
    if (r.pushes.failed[i]) failed[std::string(push_failure_name(i))] = r.pushes.failed[i];
  auto client = [&](const ClientOutcome& o) {
    return nlohmann::json{{"uid", o.uid},
                          {"received", o.distinct},
                          {"received_percent", percent(o.distinct, r.pushes.sent)},
                          {"worst_latency_ms", o.worst_latency_us >= 0 ? ms(o.worst_latency_us) : 0.0}};
  };
  auto counters = c.to_json();
  return {{"tool", "herald-bench churn"},
          {"options",
           {{"url", r.server_url},
            {"namespace", r.nsp},
            {"push_url", r.push_url},
            {"clients", options.clients},
            {"workers", options.workers},
            {"duration_s", options.duration_s},
            {"rate_per_s", options.rate},
            {"ack", options.ack},
            {"size", options.size},
            {"offline_ms", options.offline_ms},
            {"drop_every_ms", options.drop_every_ms},
            {"drop_jitter_ms", options.drop_jitter_ms},
            {"drain_ms", options.drain_ms},
            {"login", options.login}}},
          {"pushes",
           {{"sent", r.pushes.sent},
            {"ok", r.pushes.ok},
            {"failed", std::move(failed)},
            {"unanswered", r.pushes_unanswered},
            {"last_error", r.pushes.last_error},
            {"http_latency_ms", r.pushes.latency.summary_ms()}}},
          {"delivered",
           {{"percent", r.delivered_percent()},
            {"distinct", c.distinct},
            {"expected", r.expected()},
            {"duplicates", c.duplicates},
            {"deliveries", c.deliveries},
            {"foreign", c.foreign}}},
          {"connections",
           {{"drops", c.drops},
            {"lost", counters["lost"]},
            {"failed_attempts", counters["failed_attempts"]},
            {"reconnects", c.reconnects},
            {"recovered", c.recovered},
            {"not_recovered", c.reconnects - c.recovered},
            {"acks_sent", c.acks}}},
          {"latency_ms", r.outcome.latency.summary_ms()},
          {"per_client",
           {{"worst_latency_ms", r.outcome.worst_latency.summary_ms()},
            {"slowest", client(r.outcome.slowest)},
            {"fewest_received", client(r.outcome.fewest)}}},
          {"end", {{"clients", c.clients}, {"connected", c.connected}}},
          {"connect_seconds", r.connect_seconds},
          {"seconds", r.run_seconds},
          {"problems", r.problems},
          {"failure", r.failure}};
}

}  // namespace herald::bench
