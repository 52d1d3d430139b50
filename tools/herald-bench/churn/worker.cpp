// A churn worker process: its clients, the parent's signals, the reports it sends back.
#include "churn/worker.hpp"

#include <unistd.h>

#include <csignal>
#include <memory>
#include <vector>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "churn/client.hpp"
#include "common/clock.hpp"
#include "common/net.hpp"
#include "common/url.hpp"
#include "common/worker_processes.hpp"
#include "connect/options.hpp"

namespace herald::bench {
namespace {

constexpr std::chrono::milliseconds kRampStep{10};
constexpr std::chrono::milliseconds kReportEvery{200};

class ChurnWorker {
 public:
  ChurnWorker(const ChurnOptions& options, const ChurnWorkerPlan& plan) : options_(options), plan_(plan) {
    signals_.add(SIGUSR1);
    signals_.add(SIGUSR2);
  }

  [[noreturn]] void run() {
    std::string error;
    auto url = parse_url(options_.url, error);  // checked by the parent
    ChurnContext context{.io = io_,
                         .counters = counters_,
                         .latency = latency_,
                         .server = resolve_endpoint(io_, url->host, url->port),
                         .host_header = url->host_header(),
                         .target = options_.socketio_path + "?EIO=4&transport=websocket",
                         .nsp = namespace_from_path(url->path),
                         .uid_prefix = options_.uid_prefix,
                         .msg_id_prefix = plan_.msg_id_prefix,
                         .login_in_auth = options_.login == "auth",
                         .offline = std::chrono::milliseconds(options_.offline_ms),
                         .drop_every = std::chrono::milliseconds(options_.drop_every_ms),
                         .drop_jitter = std::chrono::milliseconds(options_.drop_jitter_ms),
                         .random = std::minstd_rand(std::random_device{}()),
                         .churning = false};
    context_ = &context;
    clients_.reserve(plan_.share);
    for (uint64_t i = 0; i < plan_.share; ++i)
      clients_.push_back(std::make_unique<ChurnClient>(context, plan_.first_index + i));

    listen_for_signals();
    ramp_start_ = SteadyClock::now();
    ramp();
    report();
    io_.run();
    finish();
  }

 private:
  void listen_for_signals() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGTERM || signal == SIGINT) finish();
      if (signal == SIGUSR1 && !context_->churning) {
        context_->churning = true;
        for (auto& client : clients_) client->on_churn_started();
      }
      // Clients offline now still reconnect; none is dropped again.
      if (signal == SIGUSR2) context_->churning = false;
      listen_for_signals();
    });
  }

  // Starts as many clients as the rate allows by now, then checks again shortly.
  void ramp() {
    double elapsed = seconds_since(ramp_start_);
    auto due = std::min<uint64_t>(plan_.share, static_cast<uint64_t>(plan_.connect_rate * elapsed) + 1);
    while (started_ < due) clients_[started_++]->start();
    if (started_ == plan_.share) return;
    ramp_timer_.expires_after(kRampStep);
    ramp_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) ramp();
    });
  }

  void report() {
    WorkerProcesses::write_line(plan_.report_fd, tick().dump() + "\n");
    report_timer_.expires_after(kReportEvery);
    report_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) report();
    });
  }

  nlohmann::json tick() const { return {{"type", "tick"}, {"counters", counters_.to_json()}}; }

  // Exits without tearing the clients down: the kernel closes every socket at once.
  [[noreturn]] void finish() {
    ChurnOutcome outcome;
    outcome.latency = latency_;
    // The pushes some client here received: the others missed those (a push nobody here got, such
    // as the very last ones, is not listed).
    uint64_t first = ReceivedSet::kMaxPushes;
    uint64_t end = 0;
    for (const auto& client : clients_) {
      outcome.add_client(client->outcome());
      if (client->received().size() == 0) continue;
      first = std::min(first, client->received().begin());
      end = std::max(end, client->received().end());
    }
    for (const auto& client : clients_)
      for (uint64_t sequence = first; sequence < end && outcome.missed.size() < ChurnOutcome::kMissedShown; ++sequence)
        if (!client->received().contains(sequence)) outcome.add_missed(client->outcome().uid, sequence);
    WorkerProcesses::write_line(plan_.report_fd, tick().dump() + "\n");
    nlohmann::json final_report = {
        {"type", "final"}, {"counters", counters_.to_json()}, {"outcome", outcome.to_json()}};
    WorkerProcesses::write_line(plan_.report_fd, final_report.dump() + "\n");
    ::close(plan_.report_fd);
    _exit(0);
  }

  const ChurnOptions& options_;
  ChurnWorkerPlan plan_;
  asio::io_context io_{1};
  ChurnCounters counters_;
  LatencyHistogram latency_;
  ChurnContext* context_ = nullptr;
  std::vector<std::unique_ptr<ChurnClient>> clients_;
  // Installed before the parent can send any of these: their default action would kill us.
  asio::signal_set signals_{io_, SIGINT, SIGTERM};
  asio::steady_timer ramp_timer_{io_};
  asio::steady_timer report_timer_{io_};
  SteadyClock::time_point ramp_start_;
  uint64_t started_ = 0;
};

}  // namespace

void run_churn_worker(const ChurnOptions& options, const ChurnWorkerPlan& plan) {
  ChurnWorker worker(options, plan);
  worker.run();
}

}  // namespace herald::bench
