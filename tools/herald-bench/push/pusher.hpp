// Sends pushes at the requested rate over a pool of keep-alive connections (at most
// --concurrency in flight) and records how each one was answered. Stops early, saying why,
// when the server refuses connections or pushes keep failing. Runs on its own loop (`push`) or
// on a loop it shares with other work (`churn`).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/clock.hpp"
#include "common/histogram.hpp"
#include "common/http_connection.hpp"
#include "common/progress.hpp"
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
  Pusher(asio::io_context& io, const PushOptions& options, tcp::endpoint server, std::string host_header,
         Targets targets, double rate);
  // Runs `io` until done, printing progress every second; stops on SIGINT/SIGTERM.
  PushResult run();
  // Starts pushing on `io` without blocking; `on_done` is called once sending ended (duration,
  // count, stop or failure) and every push in flight was answered.
  void start(std::function<void()> on_done);
  // Sends no more pushes; those in flight are still awaited.
  void stop(std::string reason, bool server_failed = false);
  // The counts so far (final once done); `seconds` runs to when it was done.
  PushResult result() const;
  uint64_t in_flight() const { return in_flight_; }
  bool done() const { return done_; }

 private:
  bool may_send_more() const;
  void schedule_tick();
  void pump();
  void send(size_t slot);
  void on_answer(size_t slot, SteadyClock::time_point sent_at, const beast::error_code& ec,
                 HttpConnection::Response& response);
  void on_failure(PushFailure kind, std::string what);
  void finish_if_done();
  void print_progress();
  std::string next_body();

  const PushOptions& options_;
  std::string host_header_;
  Targets targets_;
  double rate_;
  std::string pad_;
  std::string msg_prefix_;
  asio::io_context& io_;
  std::vector<std::unique_ptr<HttpConnection>> connections_;
  std::vector<size_t> idle_;
  asio::steady_timer tick_timer_{io_};
  asio::steady_timer duration_timer_{io_};
  asio::steady_timer progress_timer_{io_};
  ProgressLine progress_;
  Rate sent_rate_;
  Rate ok_rate_;
  Rate receipt_rate_;
  std::function<void()> on_done_;
  SteadyClock::time_point start_;
  SteadyClock::time_point done_at_;
  uint64_t ticks_ = 0;  // pushes scheduled by the rate so far
  uint64_t owed_ = 0;   // scheduled but waiting for a free connection
  uint64_t in_flight_ = 0;
  uint64_t failures_in_a_row_ = 0;
  bool stopping_ = false;
  bool done_ = false;
  PushResult result_;
};

}  // namespace herald::bench
