// Sends pushes at the requested rate over a pool of keep-alive connections (at most
// --concurrency in flight) and records how each one was answered. Stops early, saying why,
// when the server refuses connections or pushes keep failing.
#pragma once

#include <array>
#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/clock.hpp"
#include "common/histogram.hpp"
#include "common/http_connection.hpp"
#include "push/options.hpp"
#include "push/targets.hpp"

namespace herald::bench {

enum class PushFailure : uint8_t { Http, Code, Refused, Timeout, Io };
constexpr size_t kPushFailureKinds = 5;
std::string_view push_failure_name(size_t index);

struct PushResult {
  uint64_t sent = 0;
  uint64_t ok = 0;
  std::array<uint64_t, kPushFailureKinds> failed{};
  LatencyHistogram latency;   // request sent to answer received, successful pushes
  uint64_t receipts = 0;      // acks reported by the server (sum of `body` lengths)
  uint64_t acked_pushes = 0;  // successful pushes whose `body` was an array
  uint64_t unsent = 0;        // due by the rate but never sent: every connection was busy
  double seconds = 0;
  std::string stop_reason;
  bool server_failed = false;
  std::string last_error;

  uint64_t failed_total() const;
};

class Pusher {
 public:
  // `rate` pushes per second; 0 for as fast as the connections allow.
  Pusher(const PushOptions& options, tcp::endpoint server, std::string host_header, Targets targets, double rate);
  PushResult run();

 private:
  bool may_send_more() const;
  void schedule_tick();
  void pump();
  void send(size_t slot);
  void on_answer(size_t slot, SteadyClock::time_point sent_at, const beast::error_code& ec,
                 HttpConnection::Response& response);
  void on_failure(PushFailure kind, std::string what);
  void stop(std::string reason, bool server_failed = false);
  void finish_if_done();
  void print_progress();
  std::string next_body();

  const PushOptions& options_;
  std::string host_header_;
  Targets targets_;
  double rate_;
  std::string pad_;
  std::string msg_prefix_;
  asio::io_context io_{1};
  std::vector<std::unique_ptr<HttpConnection>> connections_;
  std::vector<size_t> idle_;
  asio::steady_timer tick_timer_{io_};
  asio::steady_timer duration_timer_{io_};
  asio::steady_timer progress_timer_{io_};
  asio::signal_set signals_{io_, SIGINT, SIGTERM};
  SteadyClock::time_point start_;
  uint64_t ticks_ = 0;  // pushes scheduled by the rate so far
  uint64_t owed_ = 0;   // scheduled but waiting for a free connection
  uint64_t in_flight_ = 0;
  uint64_t failures_in_a_row_ = 0;
  bool stopping_ = false;
  PushResult result_;
};

}  // namespace herald::bench
