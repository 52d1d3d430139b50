// --client-auth webhook: the backend says who a connection is. Per connection Herald POSTs JSON
// {auth, query, headers, address, nsp} to the webhook and accepts on `200 {uid, rooms?}`; any other
// answer refuses with the backend's `message` (or its body), and a webhook that times out or cannot
// be reached refuses too (fail closed). Requests go over the loop's pooled keep-alive connections
// (net::forward_request), so a burst of connections does not open a TCP connection each.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>
#include "codec/json.hpp"

namespace herald::notify {
class Alerter;
}

namespace herald::auth {

struct WebhookIdentity {
  std::string uid;
  std::vector<std::string> rooms;
};

// The backend's verdict: an identity, or why the connection is refused.
struct WebhookVerdict {
  std::optional<WebhookIdentity> identity;
  std::string refusal;
};

// Reads a webhook answer: 200 with {uid: string, rooms?: [string]} accepts; anything else refuses
// with the body's `message` (or `error`), else a description of the status.
WebhookVerdict read_webhook_answer(int status, const std::string& body);

class AuthWebhook {
 public:
  // `url`: http://host[:port]/path (the host is resolved once, here). Throws std::invalid_argument.
  AuthWebhook(const std::string& url, std::chrono::milliseconds timeout);

  // POSTs `request` and calls `done` once, later, on `executor`'s loop.
  void ask(const boost::asio::any_io_executor& executor, const herald::Json& request,
           std::function<void(WebhookVerdict)> done) const;

  const std::string& url() const { return url_; }
  // Alerts the operator while the webhook cannot be reached or does not answer in time (every
  // connection is refused then), and says when it answers again. Set before use.
  void set_alerter(notify::Alerter* alerter) { alerter_ = alerter; }

 private:
  std::string url_;
  std::string host_header_;
  std::string address_;
  uint16_t port_ = 80;
  std::string path_;
  std::chrono::milliseconds timeout_;
  notify::Alerter* alerter_ = nullptr;
};

}  // namespace herald::auth
