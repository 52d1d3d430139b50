// One way alerts leave (e-mail or webhook): its own queue and thread, so a server that hangs on
// one channel never holds back the other. Messages go out one at a time in the order queued, so
// an alert always precedes its recovery.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "notify/alert_config.hpp"

namespace herald::notify {

class AlertChannel {
 public:
  // Sends one message, giving up after `timeout`.
  using Send = std::function<void(const AlertMessage& message, std::chrono::milliseconds timeout)>;

  AlertChannel(std::string name, std::chrono::milliseconds timeout, Send send);
  ~AlertChannel();  // stop(), then waits for the thread
  AlertChannel(const AlertChannel&) = delete;
  AlertChannel& operator=(const AlertChannel&) = delete;

  void push(AlertMessage message);
  // Waits until everything queued has been tried.
  void flush();
  // Starts shutting down: what is queued is still tried until one timeout from now, the rest is
  // dropped, so the destructor never waits longer than one attempt.
  void stop();

 private:
  void run();

  const std::string name_;
  const std::chrono::milliseconds timeout_;
  const Send send_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<AlertMessage> queue_;
  bool busy_ = false;
  std::optional<std::chrono::steady_clock::time_point> deadline_;  // set by stop()
  std::thread worker_;
};

}  // namespace herald::notify
