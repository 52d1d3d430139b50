// Sends JSON webhooks (login notices, alerts) from a background thread, so a slow or dead receiver
// never blocks an event loop. The queue is bounded: past it, notices are dropped and counted.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace herald::notify {

class WebhookSender {
 public:
  explicit WebhookSender(size_t max_queue = 10000);
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Queues a POST of `json` to `url`. Callable from any thread.
  void post(std::string url, std::string json);
  uint64_t sent() const { return sent_; }
  uint64_t failed() const { return failed_; }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Job {
    std::string url;
    std::string body;
  };
  void run();

  size_t max_queue_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::atomic<uint64_t> sent_{0}, failed_{0}, dropped_{0};
  std::thread worker_;
};

}  // namespace herald::notify
