#include "push/report.hpp"

#include <fmt/core.h>

#include "common/histogram.hpp"

namespace herald::bench {
namespace {

std::string rate_text(double rate) { return rate > 0 ? fmt::format("{:g} pushes/s", rate) : "unthrottled"; }

}  // namespace

void print_push_report(const PushResult& r, const PushOptions& options, const std::string& url, double rate) {
  fmt::print("\n== herald-bench push: {} to {}, {}, ack {}, {}-byte messages, up to {} in flight ==\n",
             options.endpoint, url, rate_text(rate), options.ack ? "on" : "off", options.size, options.concurrency);
  std::string failures;
  for (size_t i = 0; i < kPushFailureKinds; ++i)
    if (r.failed[i])
      failures += fmt::format("{}{} {}", failures.empty() ? " (" : ", ", push_failure_name(i), r.failed[i]);
  if (!failures.empty()) failures += ")";
  fmt::print("pushes: sent {}, ok {}, failed {}{}\n", r.sent, r.ok, r.failed_total(), failures);
  if (!r.last_error.empty()) fmt::print("last error: {}\n", r.last_error);
  if (r.unsent)
    fmt::print(
        "behind schedule: {} pushes due by the rate were never sent (all {} connections busy: the server "
        "answers slower than the rate)\n",
        r.unsent, options.concurrency);
  const auto& h = r.latency;
  if (h.count() == 0)
    fmt::print("HTTP latency: none (no push succeeded)\n");
  else
    fmt::print("HTTP latency ms: min {:.2f} p50 {:.2f} p90 {:.2f} p99 {:.2f} max {:.2f}\n", ms(h.min()),
               ms(h.percentile(0.5)), ms(h.percentile(0.9)), ms(h.percentile(0.99)), ms(h.max()));
  if (r.acked_pushes)
    fmt::print("receipts (acks reported by the server): {} (mean {:.1f} per push)\n", r.receipts,
               static_cast<double>(r.receipts) / static_cast<double>(r.acked_pushes));
  double seconds = r.seconds > 0 ? r.seconds : 1;
  fmt::print("throughput: {:.1f} pushes/s ok, {:.0f} receipts/s, over {:.2f} s\n", static_cast<double>(r.ok) / seconds,
             static_cast<double>(r.receipts) / seconds, r.seconds);
  if (r.server_failed)
    fmt::print("\nSTOPPED EARLY: {}\n", r.stop_reason);
  else
    fmt::print("\nfinished: {}\n", r.stop_reason);
  std::fflush(stdout);
}

nlohmann::json push_report_json(const PushResult& r, const PushOptions& options, const std::string& url, double rate) {
  nlohmann::json failed = nlohmann::json::object();
  for (size_t i = 0; i < kPushFailureKinds; ++i) failed[std::string(push_failure_name(i))] = r.failed[i];
  double seconds = r.seconds > 0 ? r.seconds : 1;
  return {{"tool", "herald-bench push"},
          {"options",
           {{"url", url},
            {"endpoint", options.endpoint},
            {"rate_per_s", rate},
            {"ack", options.ack},
            {"size", options.size},
            {"concurrency", options.concurrency}}},
          {"sent", r.sent},
          {"ok", r.ok},
          {"failed", std::move(failed)},
          {"last_error", r.last_error},
          {"latency_ms", r.latency.summary_ms()},
          {"unsent", r.unsent},
          {"receipts", r.receipts},
          {"receipts_per_push",
           r.acked_pushes ? static_cast<double>(r.receipts) / static_cast<double>(r.acked_pushes) : 0.0},
          {"pushes_per_s", static_cast<double>(r.ok) / seconds},
          {"receipts_per_s", static_cast<double>(r.receipts) / seconds},
          {"seconds", r.seconds},
          {"stopped_because", r.stop_reason},
          {"server_failed", r.server_failed}};
}

}  // namespace herald::bench
