#include "notify/alert_channel.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace herald::notify {

using std::chrono::milliseconds;

AlertChannel::AlertChannel(std::string name, milliseconds timeout, Send send)
    : name_(std::move(name)), timeout_(timeout), send_(std::move(send)) {
  worker_ = std::thread([this] { run(); });
}

AlertChannel::~AlertChannel() {
  stop();
  worker_.join();
}

void AlertChannel::push(AlertMessage message) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(message));
  }
  wake_.notify_one();
}

void AlertChannel::flush() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void AlertChannel::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!deadline_) deadline_ = std::chrono::steady_clock::now() + timeout_;
  }
  wake_.notify_all();
}

void AlertChannel::run() {
  while (true) {
    AlertMessage message;
    milliseconds timeout = timeout_;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return deadline_ || !queue_.empty(); });
      if (queue_.empty()) break;
      if (deadline_) {
        // Shutting down: later messages get only what is left of the one timeout.
        auto left = std::chrono::duration_cast<milliseconds>(*deadline_ - std::chrono::steady_clock::now());
        if (left <= milliseconds::zero()) {
          spdlog::warn("alert {}: {} message(s) not sent, shutting down", name_, queue_.size());
          queue_.clear();
          break;
        }
        timeout = std::min(timeout, left);
      }
      message = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    try {
      send_(message, timeout);
    } catch (const std::exception& e) {
      spdlog::warn("alert {} for {} failed: {}", name_, message.kind, e.what());
    }
    {
      std::lock_guard lock(mutex_);
      busy_ = false;
    }
    idle_.notify_all();
  }
  idle_.notify_all();  // a flush() waiting on messages dropped above
}

}  // namespace herald::notify
