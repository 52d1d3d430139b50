#include "connect/worker.hpp"

#include <unistd.h>

#include <csignal>
#include <memory>
#include <vector>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/net.hpp"
#include "common/url.hpp"
#include "common/worker_processes.hpp"
#include "connect/polling_client.hpp"
#include "connect/websocket_client.hpp"

namespace herald::bench {
namespace {

constexpr std::chrono::milliseconds kRampStep{10};
constexpr std::chrono::milliseconds kReportEvery{200};
// How long the clients' disconnect packets get to be written before the process exits.
constexpr std::chrono::milliseconds kLeaveGrace{300};

class Worker {
 public:
  Worker(const ConnectOptions& options, const WorkerPlan& plan) : options_(options), plan_(plan) {}

  [[noreturn]] void run() {
    std::string error;
    auto url = parse_url(options_.path, error);
    auto locals = parse_source_addresses(options_.source_ips, error);
    // Options were validated by the parent; everything here lives until the process exits.
    ClientContext context{.io = io_,
                          .stats = stats_,
                          .server = resolve_endpoint(io_, url->host, url->port),
                          .host_header = url->host_header(),
                          .socketio_path = options_.socketio_path,
                          .nsp = namespace_from_path(url->path),
                          .uid_prefix = options_.uid_prefix,
                          .local_addresses = *locals,
                          .random = std::minstd_rand(std::random_device{}()),
                          .scratch = {},
                          .received_us = 0};
    stats_.share = plan_.share;
    clients_.reserve(plan_.share);
    for (uint64_t i = 0; i < plan_.share; ++i) {
      uint64_t index = plan_.first_index + i;
      if (options_.transport == "polling")
        clients_.push_back(std::make_unique<PollingClient>(context, index));
      else
        clients_.push_back(std::make_unique<WebSocketClient>(context, index));
    }

    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) leave_then_finish();
    });
    ramp_start_ = SteadyClock::now();
    stats_.first_start_us = epoch_us();
    ramp();
    report();
    io_.run();
    finish();
  }

 private:
  // Starts as many clients as the rate allows by now, then checks again shortly.
  void ramp() {
    double elapsed = seconds_since(ramp_start_);
    auto due = std::min<uint64_t>(plan_.share, static_cast<uint64_t>(plan_.rate * elapsed) + 1);
    while (started_ < due) clients_[started_++]->start();
    if (started_ == plan_.share) return;
    ramp_timer_.expires_after(kRampStep);
    ramp_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) ramp();
    });
  }

  void report() {
    WorkerProcesses::write_line(plan_.report_fd, stats_.take_tick().dump() + "\n");
    report_timer_.expires_after(kReportEvery);
    report_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) report();
    });
  }

  // Each client leaves its namespace, so that the server does not keep 'dropped' sessions of a
  // finished run for its recovery window (they would make the next run's pushes to all and to
  // rooms keep a copy for every one of them); then the process exits.
  void leave_then_finish() {
    if (options_.drop_on_exit) finish();
    for (auto& client : clients_) client->leave();
    finish_timer_.expires_after(kLeaveGrace);
    finish_timer_.async_wait([this](const boost::system::error_code&) { finish(); });
  }

  // Exits without tearing the clients down: the kernel closes every socket at once.
  [[noreturn]] void finish() {
    WorkerProcesses::write_line(plan_.report_fd, stats_.take_tick().dump() + "\n");
    WorkerProcesses::write_line(plan_.report_fd, stats_.final_report().dump() + "\n");
    ::close(plan_.report_fd);
    _exit(0);
  }

  const ConnectOptions& options_;
  WorkerPlan plan_;
  asio::io_context io_{1};
  WorkerStats stats_;
  std::vector<std::unique_ptr<Client>> clients_;
  asio::signal_set signals_{io_, SIGINT, SIGTERM};
  asio::steady_timer ramp_timer_{io_};
  asio::steady_timer report_timer_{io_};
  asio::steady_timer finish_timer_{io_};
  SteadyClock::time_point ramp_start_;
  uint64_t started_ = 0;
};

}  // namespace

void run_worker(const ConnectOptions& options, const WorkerPlan& plan) {
  Worker worker(options, plan);
  worker.run();
}

}  // namespace herald::bench
