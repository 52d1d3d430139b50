// The parent process of `herald-bench connect`: checks the options, forks the workers, prints
// their aggregated counters every second, settles each message ("all received" or "receive timed
// out"), decides when to stop, and merges the workers' final statistics into the report.
#include <algorithm>
#include <csignal>
#include <fstream>
#include <optional>
#include <unordered_map>

#include <fmt/core.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/clock.hpp"
#include "common/net.hpp"
#include "common/progress.hpp"
#include "common/url.hpp"
#include "common/worker_processes.hpp"
#include "connect/options.hpp"
#include "connect/report.hpp"
#include "connect/worker.hpp"

namespace herald::bench {
namespace {

constexpr std::chrono::milliseconds kSettleCheckEvery{100};
constexpr std::chrono::seconds kPrintEvery{1};
constexpr uint64_t kSpareDescriptors = 64;  // what a worker needs besides its clients' sockets

// What the parent has heard from one worker.
struct WorkerLink {
  Counters counters;  // from its latest tick
  std::optional<nlohmann::json> final_report;
};

enum class Settled { Pending, AllReceived, TimedOut };

// A message as the parent follows it while the test runs.
struct TrackedMessage {
  std::string id;
  SteadyClock::time_point first_seen;
  std::vector<uint64_t> received_by_worker;
  uint64_t received = 0;
  uint64_t expected = 0;
  Settled settled = Settled::Pending;
};

class Coordinator {
 public:
  Coordinator(const ConnectOptions& options, WorkerProcesses& processes)
      : options_(options), processes_(processes), workers_(processes.size()) {}
  // The workers' pipes were opened on io_, which dies with this object.
  ~Coordinator() { processes_.stop_listening(); }
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  ConnectResult run() {
    start_ = SteadyClock::now();
    processes_.listen(
        io_, [this](size_t index, const nlohmann::json& report) { on_report(index, report); },
        [this](size_t index) { on_worker_closed(index); });
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) { on_signal(ec, signal); });
    if (options_.duration_s > 0) {
      duration_timer_.expires_after(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(options_.duration_s)));
      duration_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) begin_stop("duration reached", true);
      });
    }
    schedule_print();
    schedule_settle();
    io_.run();
    progress_.finish();
    processes_.reap();
    return result();
  }

 private:
  void on_report(size_t index, const nlohmann::json& report) {
    auto& worker = workers_[index];
    if (report.value("type", "") == "final") {
      worker.final_report = report;
      return;
    }
    worker.counters = Counters::from_json(report.at("counters"));
    for (const auto& [id, received] : report.at("messages").items()) {
      auto found = message_index_.find(id);
      if (found == message_index_.end()) {
        found = message_index_.emplace(id, messages_.size()).first;
        messages_.push_back({id, SteadyClock::now(), std::vector<uint64_t>(workers_.size(), 0)});
        pending_.push_back(found->second);
      }
      auto& message = messages_[found->second];
      auto count = received.get<uint64_t>();
      message.received += count - message.received_by_worker[index];
      message.received_by_worker[index] = count;
    }
  }

  void on_worker_closed(size_t index) {
    if (!stopping_) begin_stop(fmt::format("worker {} exited", processes_.pid(index)), false);
    if (processes_.all_closed()) io_.stop();
  }

  void on_signal(const boost::system::error_code& ec, int signal) {
    if (ec) return;
    begin_stop(signal == SIGINT ? "interrupted" : "terminated", false);
    signals_.async_wait([this](const boost::system::error_code& again, int s) { on_signal(again, s); });
  }

  Counters totals() const {
    Counters sum;
    for (const auto& worker : workers_) sum.add(worker.counters);
    return sum;
  }

  uint64_t expected_receivers() const { return options_.expect ? options_.expect : totals().connected; }

  // Settles every pending message that every expected client received, or whose time ran out.
  void settle() {
    auto now = SteadyClock::now();
    auto timeout = std::chrono::milliseconds(options_.receive_timeout_ms);
    uint64_t expected = expected_receivers();
    std::vector<size_t> still_pending;
    for (size_t index : pending_) {
      auto& message = messages_[index];
      if (expected > 0 && message.received >= expected)
        message.settled = Settled::AllReceived;
      else if (now - message.first_seen >= timeout)
        message.settled = Settled::TimedOut;
      else {
        still_pending.push_back(index);
        continue;
      }
      message.expected = expected;
      if (!options_.quiet)
        progress_.message(fmt::format("message {}: {} ({} of {} clients)\n", message.id,
                                      message.settled == Settled::AllReceived ? "all received" : "receive timed out",
                                      message.received, expected));
    }
    pending_ = std::move(still_pending);
    if (options_.messages && messages_.size() >= options_.messages && pending_.empty())
      begin_stop(fmt::format("{} messages received", messages_.size()), false);
    if (draining_ && pending_.empty()) stop_workers();
  }

  void schedule_settle() {
    settle_timer_.expires_after(kSettleCheckEvery);
    settle_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      settle();
      schedule_settle();
    });
  }

  void print_counters() {
    Counters c = totals();
    std::string errors = std::to_string(c.error_total());
    std::string kinds;
    for (size_t i = 0; i < kErrorKinds; ++i)
      if (c.errors[i]) kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", error_kind_name(i), c.errors[i]);
    if (!kinds.empty()) errors += " (" + kinds + ")";
    auto now = SteadyClock::now();
    double connects = connect_rate_.update(c.created, now);
    double messages = message_rate_.update(c.messages, now);
    double acks = ack_rate_.update(c.acks, now);
    progress_.update(fmt::format(
        "[{:5.0f}s] created {} ({:.0f}/s) connected {} disconnected {} reconnected {} errors {} | messages {} "
        "({:.0f}/s) acks {} ({:.0f}/s)",
        seconds_since(start_), c.created, connects, c.connected, c.disconnected, c.reconnected, errors, c.messages,
        messages, c.acks, acks));
  }

  void schedule_print() {
    print_timer_.expires_after(kPrintEvery);
    print_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      print_counters();
      schedule_print();
    });
  }

  // Stops the test; with `drain`, first waits (at most --time) for pending messages to settle.
  void begin_stop(const std::string& why, bool drain) {
    if (stopping_) {
      if (!drain) stop_workers();  // a second request does not wait
      return;
    }
    stopping_ = true;
    progress_.message(fmt::format("stopping: {}\n", why));
    if (drain && !pending_.empty()) {
      draining_ = true;
      progress_.message(fmt::format("waiting for {} message(s) to settle\n", pending_.size()));
      return;
    }
    stop_workers();
  }

  void stop_workers() {
    if (workers_told_) return;
    workers_told_ = true;
    run_seconds_ = seconds_since(start_);
    print_counters();
    progress_.finish();
    processes_.signal_all(SIGTERM);
  }

  ConnectResult result() {
    ConnectResult r;
    r.amount = options_.amount;
    r.run_seconds = run_seconds_ > 0 ? run_seconds_ : seconds_since(start_);
    int64_t first_start = 0;
    int64_t last_connect = 0;
    // Per message id, each worker's final statistics.
    std::unordered_map<std::string, std::vector<const nlohmann::json*>> per_message;
    for (size_t index = 0; index < workers_.size(); ++index) {
      const auto& worker = workers_[index];
      if (!worker.final_report) {
        r.problems.push_back(fmt::format("worker {} exited without a final report", processes_.pid(index)));
        r.counters.add(worker.counters);
        continue;
      }
      const auto& report = *worker.final_report;
      r.counters.add(Counters::from_json(report.at("counters")));
      r.initial_failures += report.at("initial_failures").get<uint64_t>();
      r.connect_latency.merge(LatencyHistogram::from_json(report.at("connect_latency")));
      auto started = report.at("first_start_us").get<int64_t>();
      if (!first_start || started < first_start) first_start = started;
      last_connect = std::max(last_connect, report.at("last_first_connect_us").get<int64_t>());
      for (const auto& [id, stats] : report.at("messages").items()) {
        if (!message_index_.count(id)) {  // only in the final report: track it now
          message_index_.emplace(id, messages_.size());
          messages_.push_back({id, SteadyClock::now(), {}});
        }
        per_message[id].push_back(&stats);
      }
    }
    if (last_connect > first_start) r.connect_seconds = static_cast<double>(last_connect - first_start) / 1e6;

    for (const auto& tracked : messages_) {
      MessageResult m;
      m.id = tracked.id;
      const auto& stats = per_message[tracked.id];
      // Unstamped messages are timed from each worker's first receipt: align them on the earliest.
      int64_t first_receipt = 0;
      for (const auto* s : stats) {
        auto at = s->at("first_receipt_us").get<int64_t>();
        if (!first_receipt || at < first_receipt) first_receipt = at;
      }
      for (const auto* s : stats) {
        m.received += s->at("received").get<uint64_t>();
        m.stamped = s->at("stamped").get<bool>();
        int64_t shift = m.stamped ? 0 : s->at("first_receipt_us").get<int64_t>() - first_receipt;
        m.latency.merge(LatencyHistogram::from_json(s->at("latency")), shift);
      }
      if (tracked.settled == Settled::Pending) {
        m.expected = options_.expect ? options_.expect : r.counters.connected;
        m.all_received = m.expected > 0 && m.received >= m.expected;
      } else {
        m.expected = tracked.expected;
        m.all_received = tracked.settled == Settled::AllReceived;
      }
      r.all_latency.merge(m.latency);
      r.messages.push_back(std::move(m));
    }
    return r;
  }

  const ConnectOptions& options_;
  WorkerProcesses& processes_;
  std::vector<WorkerLink> workers_;
  asio::io_context io_{1};
  asio::signal_set signals_{io_, SIGINT, SIGTERM};
  asio::steady_timer duration_timer_{io_};
  asio::steady_timer settle_timer_{io_};
  asio::steady_timer print_timer_{io_};
  ProgressLine progress_;
  Rate connect_rate_;
  Rate message_rate_;
  Rate ack_rate_;
  SteadyClock::time_point start_;
  std::vector<TrackedMessage> messages_;  // in order of first receipt
  std::unordered_map<std::string, size_t> message_index_;
  std::vector<size_t> pending_;  // messages not settled yet
  bool stopping_ = false;
  bool draining_ = false;
  bool workers_told_ = false;
  double run_seconds_ = 0;
};

// Checks the options; returns an error message, or nothing when they can run.
std::optional<std::string> check(const ConnectOptions& options) {
  std::string error;
  auto url = parse_url(options.path, error);
  if (!url) return "--path: " + error;
  if (url->scheme != "ws") return "--path must be ws://host:port[/namespace]";
  if (!parse_source_addresses(options.source_ips, error)) return "--source-ips: " + error;
  if (options.socketio_path.empty() || options.socketio_path.front() != '/') return "--socketio-path must start with /";
  try {
    asio::io_context io;
    resolve_endpoint(io, url->host, url->port);
  } catch (const std::exception& e) {
    return fmt::format("cannot resolve {}: {}", url->host, e.what());
  }
  return std::nullopt;
}

}  // namespace

int run_connect(const ConnectOptions& given) {
  ConnectOptions options = given;
  if (auto error = check(options)) {
    fmt::print(stderr, "herald-bench connect: {}\n", *error);
    return 2;
  }
  options.workers = static_cast<unsigned>(std::min<uint64_t>(options.workers, options.amount));

  // One process can hold only as many sockets as its open-file limit.
  uint64_t open_files = raise_open_file_limit();
  uint64_t per_client = options.transport == "polling" ? 2 : 1;  // polling keeps a GET and a POST connection
  uint64_t largest_share = (options.amount + options.workers - 1) / options.workers;
  if (largest_share * per_client + kSpareDescriptors > open_files) {
    fmt::print(stderr,
               "herald-bench connect: a worker would hold {} clients ({} sockets) but the open-file limit is {}; "
               "use more --workers (at least {}) or raise the hard limit (ulimit -Hn)\n",
               largest_share, largest_share * per_client, open_files,
               (options.amount * per_client + open_files - kSpareDescriptors - 1) / (open_files - kSpareDescriptors));
    return 2;
  }
  std::string ignored;
  auto locals = parse_source_addresses(options.source_ips, ignored);
  uint64_t ports = ephemeral_port_count() * std::max<size_t>(1, locals->size());
  if (options.amount * per_client > ports)
    fmt::print(stderr,
               "warning: {} connections from {} local address(es) exceed the {} ephemeral ports; "
               "spread them with --source-ips 127.0.0.2-127.0.0.N\n",
               options.amount * per_client, std::max<size_t>(1, locals->size()), ports);

  std::signal(SIGPIPE, SIG_IGN);
  WorkerProcesses processes;
  auto spawn_error = processes.spawn(options.workers, [&options](size_t w, int report_fd) {
    WorkerPlan plan;
    // The first amount % workers workers run one client more.
    plan.first_index = w * (options.amount / options.workers) + std::min<uint64_t>(w, options.amount % options.workers);
    plan.share = options.amount / options.workers + (w < options.amount % options.workers ? 1 : 0);
    plan.rate = options.concurrency / options.workers;
    plan.report_fd = report_fd;
    run_worker(options, plan);
  });
  if (spawn_error) {
    fmt::print(stderr, "herald-bench connect: {}\n", *spawn_error);
    processes.signal_all(SIGTERM);
    return 2;
  }

  Coordinator coordinator(options, processes);
  ConnectResult result = coordinator.run();
  print_connect_report(result, options);
  if (!options.output.empty()) {
    std::ofstream out(options.output);
    out << connect_report_json(result, options).dump(2) << "\n";
    if (!out) fmt::print(stderr, "herald-bench connect: cannot write {}\n", options.output);
  }
  return result.verdict() == "receive timed out" ? 1 : 0;
}

}  // namespace herald::bench
