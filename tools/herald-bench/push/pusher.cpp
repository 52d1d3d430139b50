#include "push/pusher.hpp"

#include <utility>

#include <fmt/core.h>
#include <boost/asio/error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/http/error.hpp>

namespace herald::bench {
namespace {

constexpr std::array<std::string_view, kPushFailureKinds> kFailureNames = {"http", "code", "refused", "timeout", "io"};
// The server may hold a push for the whole ack timeout; allow it that long plus this.
constexpr std::chrono::milliseconds kAnswerSlack{5000};

}  // namespace

std::string_view push_failure_name(size_t index) { return kFailureNames[index]; }

uint64_t PushResult::failed_total() const {
  uint64_t total = 0;
  for (auto count : failed) total += count;
  return total;
}

Pusher::Pusher(asio::io_context& io, const PushOptions& options, tcp::endpoint server, std::string host_header,
               Targets targets, double rate)
    : options_(options), host_header_(std::move(host_header)), targets_(std::move(targets)), rate_(rate), io_(io) {
  for (uint64_t i = 0; i < options_.concurrency; ++i) {
    connections_.push_back(std::make_unique<HttpConnection>(io_.get_executor(), server));
    idle_.push_back(connections_.size() - 1);
  }
  // msgIds unique across runs, so a long-running `connect` keeps them apart.
  msg_prefix_ =
      options_.msg_id_prefix.empty() ? fmt::format("p{}-", epoch_us() / 1000000 % 1000000) : options_.msg_id_prefix;
  // Pad the message to the requested size (the stamp and sequence number take the rest).
  std::string bare = nlohmann::ordered_json{{"t", epoch_us()}, {"seq", 1}, {"pad", ""}}.dump();
  pad_.assign(options_.size > bare.size() ? options_.size - bare.size() : 0, 'x');
}

PushResult Pusher::run() {
  asio::signal_set signals(io_, SIGINT, SIGTERM);
  signals.async_wait([this, &signals](const boost::system::error_code& ec, int) {
    if (ec) return;
    stop("interrupted");
    signals.async_wait([this](const boost::system::error_code& again, int) {
      if (!again) io_.stop();  // a second signal abandons the pushes in flight
    });
  });
  progress_timer_.expires_after(std::chrono::seconds(1));
  progress_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) print_progress();
  });
  start([this] { io_.stop(); });
  io_.run();
  progress_.finish();
  return result();
}

void Pusher::start(std::function<void()> on_done) {
  on_done_ = std::move(on_done);
  start_ = SteadyClock::now();
  if (options_.duration_s > 0) {
    auto duration =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(options_.duration_s));
    duration_timer_.expires_after(duration);
    duration_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) stop("duration reached");
    });
  }
  if (rate_ > 0) schedule_tick();
  pump();
}

PushResult Pusher::result() const {
  PushResult result = result_;
  result.seconds = std::chrono::duration<double>((done_ ? done_at_ : SteadyClock::now()) - start_).count();
  result.unsent = owed_;
  return result;
}

bool Pusher::may_send_more() const {
  if (stopping_ || (options_.count && result_.sent >= options_.count)) return false;
  // The duration timer and a tick due at the same instant may run in either order.
  return options_.duration_s <= 0 || seconds_since(start_) < options_.duration_s;
}

// Owes one more push at every 1/rate seconds since the start (catching up after stalls).
void Pusher::schedule_tick() {
  auto due = start_ + std::chrono::duration_cast<SteadyClock::duration>(
                          std::chrono::duration<double>(static_cast<double>(ticks_) / rate_));
  tick_timer_.expires_at(due);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !may_send_more()) return;
    ++ticks_;
    ++owed_;
    pump();
    schedule_tick();
  });
}

void Pusher::pump() {
  while (!idle_.empty() && may_send_more() && (rate_ == 0 || owed_ > 0)) {
    if (owed_ > 0) --owed_;
    size_t slot = idle_.back();
    idle_.pop_back();
    send(slot);
  }
}

std::string Pusher::next_body() {
  uint64_t seq = result_.sent;
  auto one = [&](std::string msg_id) {
    nlohmann::ordered_json body;
    body["msgId"] = std::move(msg_id);
    body["message"] = nlohmann::ordered_json{{"t", epoch_us()}, {"seq", seq}, {"pad", pad_}};
    body["ack"] = options_.ack;
    body["timeout"] = options_.timeout_ms;
    targets_.add_next(body);
    return body;
  };
  if (!targets_.api_batch()) return one(msg_prefix_ + std::to_string(seq)).dump();
  // POST /api/v1/push/batch: pushes of one user each.
  nlohmann::ordered_json pushes = nlohmann::ordered_json::array();
  for (uint64_t i = 0; i < targets_.batch_size(); ++i)
    pushes.push_back(one(msg_prefix_ + std::to_string(seq) + "." + std::to_string(i)));
  return nlohmann::ordered_json{{"pushes", std::move(pushes)}}.dump();
}

void Pusher::send(size_t slot) {
  ++result_.sent;
  ++in_flight_;
  HttpConnection::Request request{beast::http::verb::post, targets_.api_path(), 11};
  request.set(beast::http::field::host, host_header_);
  request.set(beast::http::field::content_type, "application/json");
  if (!options_.token.empty()) request.set(beast::http::field::authorization, "Bearer " + options_.token);
  request.body() = next_body();
  auto timeout = std::chrono::milliseconds(options_.ack ? options_.timeout_ms : 0) + kAnswerSlack;
  auto sent_at = SteadyClock::now();
  connections_[slot]->send(std::move(request), timeout,
                           [this, slot, sent_at](const beast::error_code& ec, HttpConnection::Response& response) {
                             on_answer(slot, sent_at, ec, response);
                           });
}

void Pusher::on_answer(size_t slot, SteadyClock::time_point sent_at, const beast::error_code& ec,
                       HttpConnection::Response& response) {
  --in_flight_;
  idle_.push_back(slot);
  if (ec == asio::error::connection_refused) {
    on_failure(PushFailure::Refused, "connection refused");
    stop(fmt::format("the server refused the connection ({}{})", options_.path, targets_.api_path()), true);
  } else if (ec == beast::error::timeout) {
    on_failure(PushFailure::Timeout, "no answer in time");
  } else if (ec) {
    on_failure(PushFailure::Io, ec.message());
  } else if (response.result() != beast::http::status::ok) {
    on_failure(PushFailure::Http, fmt::format("HTTP {}", response.result_int()));
  } else {
    auto answer = nlohmann::json::parse(response.body(), nullptr, false);
    auto results = answer.is_object() ? answer.find("results") : answer.end();
    if (targets_.api_batch() && results != answer.end() && results->is_array()) {
      // One answer for the batch: each of its pushes counts as one, with its own receipts.
      failures_in_a_row_ = 0;
      result_.ok += results->size();
      result_.latency.record(
          std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - sent_at).count());
      for (const auto& result : *results) {
        auto acked = result.find("acked");
        if (acked == result.end() || !acked->is_array()) continue;
        ++result_.acked_pushes;
        result_.receipts += acked->size();
      }
    } else if (!answer.is_object() || answer.value("code", -1) != 0) {
      std::string msg = answer.is_object() ? answer.value("msg", std::string("?")) : std::string("not JSON");
      on_failure(PushFailure::Code,
                 fmt::format("code {}: {}", answer.is_object() ? answer.value("code", -1) : -1, msg));
    } else {
      failures_in_a_row_ = 0;
      ++result_.ok;
      result_.latency.record(
          std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - sent_at).count());
      if (auto body = answer.find("body"); body != answer.end() && body->is_array()) {
        ++result_.acked_pushes;
        result_.receipts += body->size();
      }
    }
  }
  pump();
  finish_if_done();
}

void Pusher::on_failure(PushFailure kind, std::string what) {
  ++result_.failed[static_cast<size_t>(kind)];
  result_.last_error = std::move(what);
  if (++failures_in_a_row_ >= options_.max_errors && !stopping_)
    stop(fmt::format("{} pushes in a row failed (last: {})", failures_in_a_row_, result_.last_error), true);
}

void Pusher::stop(std::string reason, bool server_failed) {
  if (stopping_) return;
  stopping_ = true;
  result_.stop_reason = std::move(reason);
  result_.server_failed = server_failed;
  tick_timer_.cancel();
  duration_timer_.cancel();
  progress_.message(fmt::format("stopping: {}{}\n", result_.stop_reason,
                                in_flight_ ? fmt::format(", waiting for {} push(es) in flight", in_flight_) : ""));
  finish_if_done();
}

void Pusher::finish_if_done() {
  if (!done_ && !may_send_more() && in_flight_ == 0) {
    if (!stopping_) {
      stopping_ = true;
      bool counted_out = options_.count && result_.sent >= options_.count;
      result_.stop_reason = counted_out ? fmt::format("{} pushes sent", result_.sent) : "duration reached";
    }
    done_ = true;
    done_at_ = SteadyClock::now();
    tick_timer_.cancel();
    duration_timer_.cancel();
    progress_timer_.cancel();
    if (on_done_) std::exchange(on_done_, nullptr)();
  }
}

void Pusher::print_progress() {
  auto now = SteadyClock::now();
  progress_.update(
      fmt::format("[{:5.0f}s] sent {} ({:.0f}/s) ok {} ({:.0f}/s) failed {} in flight {} receipts {} ({:.0f}/s)",
                  seconds_since(start_), result_.sent, sent_rate_.update(result_.sent, now), result_.ok,
                  ok_rate_.update(result_.ok, now), result_.failed_total(), in_flight_, result_.receipts,
                  receipt_rate_.update(result_.receipts, now)));
  progress_timer_.expires_after(std::chrono::seconds(1));
  progress_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) print_progress();
  });
}

}  // namespace herald::bench
