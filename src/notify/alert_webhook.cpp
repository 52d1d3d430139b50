#include "notify/alert_webhook.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <string>
#include "codec/json.hpp"

namespace herald::notify {
namespace {

size_t discard(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

void send_alert_webhook(const AlertConfig& config, const AlertMessage& message, std::chrono::milliseconds timeout) {
  herald::Json body{{"kind", message.kind},
                    {"state", message.state},
                    {"text", message.text},
                    {"node", config.node},
                    {"time", std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count()}};
  // Error texts may hold bytes that are not UTF-8: replace them rather than throw.
  std::string json = body.dump(-1, ' ', false, herald::Json::error_handler_t::replace);
  CURL* curl = curl_easy_init();
  if (!curl) {
    spdlog::warn("alert webhook for {} failed: no curl handle", message.kind);
    return;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, config.webhook.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(json.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
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
