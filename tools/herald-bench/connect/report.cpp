#include "connect/report.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace herald::bench {
namespace {

// Text reports list at most this many messages; the JSON report has them all.
constexpr size_t kMaxMessageRows = 60;

std::string latency_columns(const LatencyHistogram& h) {
  return fmt::format("{:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f}", ms(h.min()), ms(h.percentile(0.5)),
                     ms(h.percentile(0.9)), ms(h.percentile(0.99)), ms(h.percentile(0.999)), ms(h.max()));
}

std::string error_summary(const Counters& counters) {
  std::string text = std::to_string(counters.error_total());
  std::string kinds;
  for (size_t i = 0; i < kErrorKinds; ++i) {
    if (!counters.errors[i]) continue;
    kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", error_kind_name(i), counters.errors[i]);
  }
  return kinds.empty() ? text : text + " (" + kinds + ")";
}

}  // namespace

std::string ConnectResult::verdict() const {
  if (messages.empty()) return "no messages received";
  bool all = std::all_of(messages.begin(), messages.end(), [](const MessageResult& m) { return m.all_received; });
  return all ? "all received" : "receive timed out";
}

void print_connect_report(const ConnectResult& r, const ConnectOptions& options) {
  fmt::print("\n== herald-bench connect: {} clients to {} over {} ({} worker{}) ==\n", r.amount, options.path,
             options.transport, options.workers, options.workers == 1 ? "" : "s");
  uint64_t connected_once = r.counters.ever_connected;
  fmt::print(
      "connect phase: {} of {} clients connected in {:.2f} s ({:.0f} connections/s), {} failed first attempt{}\n",
      connected_once, r.amount, r.connect_seconds,
      r.connect_seconds > 0 ? static_cast<double>(connected_once) / r.connect_seconds : 0.0, r.initial_failures,
      r.initial_failures == 1 ? "" : "s");
  if (r.connect_latency.count())
    fmt::print("connect latency ms (start to Socket.IO connect): min {:.2f} p50 {:.2f} p99 {:.2f} max {:.2f}\n",
               ms(r.connect_latency.min()), ms(r.connect_latency.percentile(0.5)),
               ms(r.connect_latency.percentile(0.99)), ms(r.connect_latency.max()));
  fmt::print("end state after {:.1f} s: connected {}, disconnected {}, reconnected {}, errors {}\n", r.run_seconds,
             r.counters.connected, r.counters.disconnected, r.counters.reconnected, error_summary(r.counters));
  fmt::print("messages: {} distinct, {} receipts, {} acks sent\n", r.messages.size(), r.counters.messages,
             r.counters.acks);

  if (!r.messages.empty()) {
    fmt::print("\n{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  {}\n", "msgId", "received", "min ms", "p50",
               "p90", "p99", "p99.9", "max", "expected", "result");
    size_t shown = 0;
    for (const auto& m : r.messages) {
      // Long runs: show the first rows and every incomplete message.
      if (shown >= kMaxMessageRows && m.all_received) continue;
      ++shown;
      fmt::print("{:<24} {:>9} {} {:>9}  {}{}\n", m.id, m.received, latency_columns(m.latency), m.expected,
                 m.all_received ? "all received" : "receive timed out", m.stamped ? "" : " (from first receipt)");
    }
    if (shown < r.messages.size())
      fmt::print("... {} more, all received (see -o for every row)\n", r.messages.size() - shown);
    fmt::print("{:<24} {:>9} {}\n", "all messages", r.all_latency.count(), latency_columns(r.all_latency));
  }
  for (const auto& problem : r.problems) fmt::print("problem: {}\n", problem);
  fmt::print("\n{}\n", r.verdict());
  std::fflush(stdout);
}

nlohmann::json connect_report_json(const ConnectResult& r, const ConnectOptions& options) {
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& m : r.messages) {
    messages.push_back({{"msgId", m.id},
                        {"received", m.received},
                        {"expected", m.expected},
                        {"result", m.all_received ? "all received" : "receive timed out"},
                        {"latency_from", m.stamped ? "push" : "first receipt"},
                        {"latency_ms", m.latency.summary_ms()}});
  }
  uint64_t connected_once = r.counters.ever_connected;
  return {{"tool", "herald-bench connect"},
          {"options",
           {{"path", options.path},
            {"amount", options.amount},
            {"concurrency", options.concurrency},
            {"workers", options.workers},
            {"transport", options.transport},
            {"receive_timeout_ms", options.receive_timeout_ms}}},
          {"connect",
           {{"clients", r.amount},
            {"connected", connected_once},
            {"seconds", r.connect_seconds},
            {"rate_per_s", r.connect_seconds > 0 ? static_cast<double>(connected_once) / r.connect_seconds : 0.0},
            {"initial_failures", r.initial_failures},
            {"latency_ms", r.connect_latency.summary_ms()}}},
          {"run_seconds", r.run_seconds},
          {"counters", r.counters.to_json()},
          {"messages", std::move(messages)},
          {"latency_ms", r.all_latency.summary_ms()},
          {"problems", r.problems},
          {"result", r.verdict()}};
}

}  // namespace herald::bench
