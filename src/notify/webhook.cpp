#include "notify/webhook.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

namespace herald::notify {
namespace {

size_t discard_body(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

WebhookSender::WebhookSender(size_t max_queue) : max_queue_(max_queue) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  worker_ = std::thread([this] { run(); });
}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void WebhookSender::post(std::string url, std::string json) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= max_queue_) {
      ++dropped_;
      return;
    }
    queue_.push_back(Job{std::move(url), std::move(json)});
  }
  wake_.notify_one();
}

void WebhookSender::run() {
  CURL* curl = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and everything queued was sent
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, job.url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, job.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(job.body.size()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
    CURLcode result = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (result != CURLE_OK || status < 200 || status >= 300) {
      ++failed_;
      spdlog::warn("webhook {} failed: {}", job.url,
                   result != CURLE_OK ? curl_easy_strerror(result) : "HTTP " + std::to_string(status));
    } else {
      ++sent_;
    }
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
}

}  // namespace herald::notify
