// The parent process of `herald-bench churn`: checks the options, forks the workers, waits until
// every client is connected, then pushes for --duration while the workers drop connections,
// stops the drops and waits --drain-ms, and merges the workers' results into the report. It
// prints a progress line every second.
#include <algorithm>
#include <csignal>
#include <fstream>
#include <optional>

#include <fmt/core.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "churn/options.hpp"
#include "churn/report.hpp"
#include "churn/worker.hpp"
#include "common/clock.hpp"
#include "common/net.hpp"
#include "common/progress.hpp"
#include "common/url.hpp"
#include "common/worker_processes.hpp"
#include "connect/options.hpp"
#include "push/pusher.hpp"
#include "push/targets.hpp"

namespace herald::bench {
namespace {

constexpr std::chrono::seconds kPrintEvery{1};
// How long the clients may take to connect, beyond what the connection rate needs.
constexpr std::chrono::seconds kConnectGrace{15};
constexpr uint64_t kSpareDescriptors = 64;  // what a worker needs besides its clients' sockets

// What the parent has heard from one worker.
struct WorkerLink {
  ChurnCounters counters;  // from its latest tick
  std::optional<nlohmann::json> final_report;
};

// Where the run stands; each phase leads to the next.
enum class Phase { Connecting, Churning, Draining, Finishing };

class ChurnCoordinator {
 public:
  ChurnCoordinator(const ChurnOptions& options, WorkerProcesses& processes, const PushOptions& push_options,
                   tcp::endpoint push_server, const Url& push_url, Targets targets)
      : options_(options),
        processes_(processes),
        workers_(processes.size()),
        pusher_(io_, push_options, push_server, push_url.host_header(), std::move(targets), options.rate) {}
  // The workers' pipes were opened on io_, which dies with this object.
  ~ChurnCoordinator() { processes_.stop_listening(); }
  ChurnCoordinator(const ChurnCoordinator&) = delete;
  ChurnCoordinator& operator=(const ChurnCoordinator&) = delete;

  ChurnResult run() {
    start_ = SteadyClock::now();
    processes_.listen(
        io_, [this](size_t index, const nlohmann::json& line) { on_line(index, line); },
        [this](size_t index) { on_worker_closed(index); });
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (!ec) fail(signal == SIGINT ? "interrupted" : "terminated");
    });
    auto connect_limit = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(
                             static_cast<double>(options_.clients) / options_.connect_rate)) +
                         kConnectGrace;
    phase_timer_.expires_after(connect_limit);
    phase_timer_.async_wait([this, connect_limit](const boost::system::error_code& ec) {
      if (ec || phase_ != Phase::Connecting) return;
      fail(fmt::format("only {} of {} clients connected within {:.0f} s", totals().connected, options_.clients,
                       std::chrono::duration<double>(connect_limit).count()));
    });
    schedule_print();
    io_.run();
    progress_.finish();
    processes_.reap();
    return result();
  }

 private:
  void on_line(size_t index, const nlohmann::json& line) {
    if (line.value("type", "") == "final") {
      workers_[index].final_report = line;
      return;
    }
    workers_[index].counters = ChurnCounters::from_json(line.at("counters"));
    if (phase_ == Phase::Connecting && totals().connected == options_.clients) begin_churn();
  }

  ChurnCounters totals() const {
    ChurnCounters sum;
    for (const auto& worker : workers_) sum.add(worker.counters);
    return sum;
  }

  void begin_churn() {
    phase_ = Phase::Churning;
    connect_seconds_ = seconds_since(start_);
    progress_.message(fmt::format("all {} clients connected in {:.2f} s: pushing for {:g} s and dropping connections\n",
                                  options_.clients, connect_seconds_, options_.duration_s));
    processes_.signal_all(SIGUSR1);
    pushing_ = true;
    pusher_.start([this] {
      if (pusher_.result().server_failed) fail(pusher_.result().stop_reason);
    });
    phase_timer_.expires_after(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(options_.duration_s)));
    phase_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) begin_drain();
    });
  }

  void begin_drain() {
    if (phase_ != Phase::Churning) return;
    phase_ = Phase::Draining;
    pusher_.stop("duration reached");
    processes_.signal_all(SIGUSR2);
    progress_.message(fmt::format("pushes done: no more drops, draining for {} ms\n", options_.drain_ms));
    phase_timer_.expires_after(std::chrono::milliseconds(options_.drain_ms));
    phase_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) finish();
    });
  }

  void fail(const std::string& why) {
    if (failure_.empty()) failure_ = why;
    progress_.message(fmt::format("stopping: {}\n", why));
    finish();
  }

  void finish() {
    if (phase_ == Phase::Finishing) return;
    phase_ = Phase::Finishing;
    run_seconds_ = seconds_since(start_);
    if (pushing_) pusher_.stop("run ended");
    print_progress();
    processes_.signal_all(SIGTERM);
  }

  void on_worker_closed(size_t index) {
    if (phase_ != Phase::Finishing) fail(fmt::format("worker {} exited", processes_.pid(index)));
    // Pushes still in flight are not waited for.
    if (processes_.all_closed()) io_.stop();
  }

  void print_progress() {
    ChurnCounters c = totals();
    static constexpr const char* kPhaseNames[] = {"connecting", "churning", "draining", "finishing"};
    PushResult pushes = pusher_.result();
    auto now = SteadyClock::now();
    progress_.update(fmt::format(
        "[{:5.0f}s] {}: connected {} offline {} | drops {} lost {} reconnects {} recovered {} | received {} "
        "({:.0f}/s) dup {} | pushes sent {} ({:.0f}/s) ok {} failed {}",
        seconds_since(start_), kPhaseNames[static_cast<int>(phase_)], c.connected, c.offline, c.drops, c.lost_total(),
        c.reconnects, c.recovered, c.distinct, received_rate_.update(c.distinct, now), c.duplicates, pushes.sent,
        push_rate_.update(pushes.sent, now), pushes.ok, pushes.failed_total()));
  }

  void schedule_print() {
    print_timer_.expires_after(kPrintEvery);
    print_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || phase_ == Phase::Finishing) return;
      print_progress();
      schedule_print();
    });
  }

  ChurnResult result() {
    ChurnResult r;
    r.pushes = pusher_.result();
    r.pushes_unanswered = pusher_.in_flight();
    r.connect_seconds = connect_seconds_;
    r.run_seconds = run_seconds_ > 0 ? run_seconds_ : seconds_since(start_);
    r.failure = failure_;
    for (size_t index = 0; index < workers_.size(); ++index) {
      const auto& worker = workers_[index];
      if (!worker.final_report) {
        r.problems.push_back(fmt::format("worker {} exited without a final report", processes_.pid(index)));
        r.counters.add(worker.counters);
        continue;
      }
      r.counters.add(ChurnCounters::from_json(worker.final_report->at("counters")));
      r.outcome.merge(ChurnOutcome::from_json(worker.final_report->at("outcome")));
    }
    if (!r.problems.empty() && r.failure.empty()) r.failure = r.problems.front();
    return r;
  }

  const ChurnOptions& options_;
  WorkerProcesses& processes_;
  std::vector<WorkerLink> workers_;
  asio::io_context io_{1};
  Pusher pusher_;
  asio::signal_set signals_{io_, SIGINT, SIGTERM};
  asio::steady_timer phase_timer_{io_};  // the connect limit, then the duration, then the drain
  asio::steady_timer print_timer_{io_};
  ProgressLine progress_;
  Rate received_rate_;
  Rate push_rate_;
  SteadyClock::time_point start_;
  Phase phase_ = Phase::Connecting;
  bool pushing_ = false;  // the pusher was started
  double connect_seconds_ = 0;
  double run_seconds_ = 0;
  std::string failure_;
};

// The push API's base URL: --push-url, else the server's own host and port.
std::optional<Url> push_base(const ChurnOptions& options, const Url& server, std::string& error) {
  if (options.push_url.empty()) {
    Url base = server;
    base.scheme = "http";
    base.path = "/";
    return base;
  }
  auto url = parse_url(options.push_url, error);
  if (url && url->scheme != "http") {
    error = "must be http://host:port";
    return std::nullopt;
  }
  return url;
}

}  // namespace

int run_churn(const ChurnOptions& given) {
  ChurnOptions options = given;
  std::string error;
  auto url = parse_url(options.url, error);
  if (!url) {
    fmt::print(stderr, "herald-bench churn: bad server URL: {}\n", error);
    return 2;
  }
  auto push_url = push_base(options, *url, error);
  if (!push_url) {
    fmt::print(stderr, "herald-bench churn: --push-url: {}\n", error);
    return 2;
  }
  if (options.socketio_path.empty() || options.socketio_path.front() != '/' || options.push_path.empty() ||
      options.push_path.front() != '/') {
    fmt::print(stderr, "herald-bench churn: --socketio-path and --push-path must start with /\n");
    return 2;
  }
  tcp::endpoint push_server;
  try {
    asio::io_context io;
    resolve_endpoint(io, url->host, url->port);
    push_server = resolve_endpoint(io, push_url->host, push_url->port);
  } catch (const std::exception& e) {
    fmt::print(stderr, "herald-bench churn: cannot resolve the server: {}\n", e.what());
    return 2;
  }
  options.workers = static_cast<unsigned>(std::min<uint64_t>(options.workers, options.clients));
  uint64_t open_files = raise_open_file_limit();
  uint64_t largest_share = (options.clients + options.workers - 1) / options.workers;
  if (largest_share + kSpareDescriptors > open_files) {
    fmt::print(stderr,
               "herald-bench churn: a worker would hold {} clients but the open-file limit is {}; use more "
               "--workers (at least {})\n",
               largest_share, open_files,
               (options.clients + open_files - kSpareDescriptors - 1) / (open_files - kSpareDescriptors));
    return 2;
  }
  if (options.clients > ephemeral_port_count())
    fmt::print(stderr, "warning: {} connections exceed the {} ephemeral ports of one local address\n", options.clients,
               ephemeral_port_count());

  // The push is every client's: `all` at --push-path, with msgIds the clients can file by number.
  PushOptions push;
  push.path = fmt::format("http://{}", push_url->host_header());
  push.endpoint = "all";
  push.api_path = options.push_path;
  push.msg_id_prefix = fmt::format("churn{}-", epoch_us() / 1000000 % 1000000);
  push.ack = options.ack;
  push.timeout_ms = options.ack_timeout_ms;
  push.size = options.size;
  push.duration_s = options.duration_s;
  push.token = options.token;
  auto targets = Targets::from_options(push, error);

  std::signal(SIGPIPE, SIG_IGN);
  WorkerProcesses processes;
  auto spawn_error = processes.spawn(options.workers, [&](size_t w, int report_fd) {
    ChurnWorkerPlan plan;
    // The first clients % workers workers run one client more.
    plan.first_index =
        w * (options.clients / options.workers) + std::min<uint64_t>(w, options.clients % options.workers);
    plan.share = options.clients / options.workers + (w < options.clients % options.workers ? 1 : 0);
    plan.connect_rate = options.connect_rate / options.workers;
    plan.msg_id_prefix = push.msg_id_prefix;
    plan.report_fd = report_fd;
    run_churn_worker(options, plan);
  });
  if (spawn_error) {
    fmt::print(stderr, "herald-bench churn: {}\n", *spawn_error);
    processes.signal_all(SIGTERM);
    return 2;
  }

  ChurnCoordinator coordinator(options, processes, push, push_server, *push_url, std::move(*targets));
  ChurnResult result = coordinator.run();
  result.server_url = fmt::format("http://{}{}", url->host_header(), url->path);
  result.nsp = namespace_from_path(url->path);
  result.push_url = fmt::format("http://{}{}", push_url->host_header(), options.push_path);
  result.msg_id_prefix = push.msg_id_prefix;
  print_churn_report(result, options);
  if (!options.output.empty()) {
    std::ofstream out(options.output);
    out << churn_report_json(result, options).dump(2) << "\n";
    if (!out) fmt::print(stderr, "herald-bench churn: cannot write {}\n", options.output);
  }
  return result.failure.empty() ? 0 : 1;
}

}  // namespace herald::bench
