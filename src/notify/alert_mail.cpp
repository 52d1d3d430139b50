#include "notify/alert_mail.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "notify/mail_message.hpp"

namespace herald::notify {
namespace {

struct Payload {
  std::string data;
  size_t offset = 0;
};

size_t read_payload(char* buffer, size_t size, size_t count, void* user) {
  auto* payload = static_cast<Payload*>(user);
  size_t n = std::min(size * count, payload->data.size() - payload->offset);
  // libcurl takes a byte count: no terminating NUL.
  std::copy_n(payload->data.data() + payload->offset, n, buffer);
  payload->offset += n;
  return n;
}

}  // namespace

void send_alert_mail(const AlertConfig& config, const AlertMessage& message, std::chrono::milliseconds timeout) {
  Payload payload{compose_alert_mail(config, message, std::chrono::system_clock::now())};
  std::string from = envelope_address(config.from);
  CURL* curl = curl_easy_init();
  if (!curl) {
    spdlog::warn("alert mail for {} failed: no curl handle", message.kind);
    return;
  }
  curl_slist* recipients = nullptr;
  for (const auto& to : config.to) recipients = curl_slist_append(recipients, envelope_address(to).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, config.smtp_url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_payload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &payload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (!config.smtp_user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, config.smtp_user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, config.smtp_pass.c_str());
  }
  if (config.smtp_tls == "on")
    curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  else if (config.smtp_tls == "try")
    curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
  if (config.smtp_insecure) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  CURLcode result = curl_easy_perform(curl);
  if (result != CURLE_OK)
    spdlog::warn("alert mail for {} failed: {}", message.kind, curl_easy_strerror(result));
  else
    spdlog::info("alert mail sent: {}", alert_subject(config, message));
  curl_slist_free_all(recipients);
  curl_easy_cleanup(curl);
}

}  // namespace herald::notify
