#include "notify/alerter.hpp"

#include <curl/curl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

namespace herald::notify {
namespace {

struct Payload {
  std::string data;
  size_t offset = 0;
};

size_t read_payload(char* buffer, size_t size, size_t count, void* user) {
  auto* payload = static_cast<Payload*>(user);
  size_t n = std::min(size * count, payload->data.size() - payload->offset);
  std::memcpy(buffer, payload->data.data() + payload->offset, n);
  payload->offset += n;
  return n;
}

size_t discard(char*, size_t size, size_t count, void*) { return size * count; }

std::string now_text() {
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

}  // namespace

Alerter::Alerter(AlertConfig config) : config_(std::move(config)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  worker_ = std::thread([this] { run(); });
}

Alerter::~Alerter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void Alerter::raise(const std::string& kind, const std::string& text) {
  {
    std::lock_guard lock(mutex_);
    if (!raised_.insert(kind).second) return;
    spdlog::error("ALERT {}: {}", kind, text);
    if (!enabled()) return;
    queue_.push_back(Message{kind, "alert", text});
  }
  wake_.notify_one();
}

void Alerter::resolve(const std::string& kind, const std::string& text) {
  {
    std::lock_guard lock(mutex_);
    if (raised_.erase(kind) == 0) return;
    spdlog::warn("RECOVERED {}: {}", kind, text);
    if (!enabled()) return;
    queue_.push_back(Message{kind, "recovered", text});
  }
  wake_.notify_one();
}

void Alerter::send(const std::string& kind, const std::string& state, const std::string& text) {
  {
    std::lock_guard lock(mutex_);
    if (!enabled()) return;
    queue_.push_back(Message{kind, state, text});
  }
  wake_.notify_one();
}

void Alerter::flush() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void Alerter::run() {
  while (true) {
    Message message;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;
      message = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    if (!config_.smtp_url.empty() && !config_.to.empty()) send_mail(message);
    if (!config_.webhook.empty()) send_webhook(message);
    {
      std::lock_guard lock(mutex_);
      busy_ = false;
    }
    idle_.notify_all();
  }
}

void Alerter::send_mail(const Message& message) {
  std::string subject = fmt::format("[herald{}{}] {} {}", config_.node.empty() ? "" : " ", config_.node,
                                    message.state == "alert" ? "ALERT" : "RECOVERED", message.kind);
  std::string to_header;
  for (const auto& to : config_.to) to_header += (to_header.empty() ? "" : ", ") + to;
  Payload payload;
  payload.data = fmt::format(
      "From: {}\r\nTo: {}\r\nSubject: {}\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{}\r\n\r\nnode: {}\r\ntime: "
      "{}\r\n",
      config_.from, to_header, subject, message.text, config_.node, now_text());
  CURL* curl = curl_easy_init();
  curl_slist* recipients = nullptr;
  for (const auto& to : config_.to) recipients = curl_slist_append(recipients, ("<" + to + ">").c_str());
  curl_easy_setopt(curl, CURLOPT_URL, config_.smtp_url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, ("<" + config_.from + ">").c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_payload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &payload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (!config_.smtp_user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, config_.smtp_user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, config_.smtp_pass.c_str());
  }
  if (config_.smtp_tls == "on")
    curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  else if (config_.smtp_tls == "try")
    curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  if (config_.smtp_insecure) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  CURLcode result = curl_easy_perform(curl);
  if (result != CURLE_OK)
    spdlog::warn("alert mail for {} failed: {}", message.kind, curl_easy_strerror(result));
  else
    spdlog::info("alert mail sent: {}", subject);
  curl_slist_free_all(recipients);
  curl_easy_cleanup(curl);
}

void Alerter::send_webhook(const Message& message) {
  nlohmann::json body{{"kind", message.kind},
                      {"state", message.state},
                      {"text", message.text},
                      {"node", config_.node},
                      {"time", std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count()}};
  std::string json = body.dump();
  CURL* curl = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, config_.webhook.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(json.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  CURLcode result = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (result != CURLE_OK || status < 200 || status >= 300)
    spdlog::warn("alert webhook for {} failed: {}", message.kind,
                 result != CURLE_OK ? curl_easy_strerror(result) : "HTTP " + std::to_string(status));
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
}

}  // namespace herald::notify
