#include "notify/alerter.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include "notify/alert_mail.hpp"
#include "notify/alert_webhook.hpp"

namespace herald::notify {

Alerter::Alerter(AlertConfig config) : config_(std::move(config)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (!config_.smtp_url.empty() && !config_.to.empty())
    channels_.push_back(std::make_unique<AlertChannel>(
        "mail", kMailTimeout,
        [this](const AlertMessage& m, std::chrono::milliseconds timeout) { send_alert_mail(config_, m, timeout); }));
  if (!config_.webhook.empty())
    channels_.push_back(std::make_unique<AlertChannel>(
        "webhook", kAlertWebhookTimeout,
        [this](const AlertMessage& m, std::chrono::milliseconds timeout) { send_alert_webhook(config_, m, timeout); }));
}

Alerter::~Alerter() {
  // Stop all first so that the channels wind down together, not one timeout after another.
  for (auto& channel : channels_) channel->stop();
  channels_.clear();
}

void Alerter::raise(const std::string& kind, const std::string& text) {
  std::lock_guard lock(mutex_);
  if (!raised_.insert(kind).second) return;
  spdlog::error("ALERT {}: {}", kind, text);
  if (!enabled()) return;
  queue(AlertMessage{kind, "alert", text});
}

void Alerter::resolve(const std::string& kind, const std::string& text) {
  std::lock_guard lock(mutex_);
  if (raised_.erase(kind) == 0) return;
  spdlog::warn("RECOVERED {}: {}", kind, text);
  if (!enabled()) return;
  queue(AlertMessage{kind, "recovered", text});
}

void Alerter::send(const std::string& kind, const std::string& state, const std::string& text) {
  std::lock_guard lock(mutex_);
  if (!enabled()) return;
  queue(AlertMessage{kind, state, text});
}

void Alerter::flush() {
  for (auto& channel : channels_) channel->flush();
}

void Alerter::queue(const AlertMessage& message) {
  for (auto& channel : channels_) channel->push(message);
}

}  // namespace herald::notify
