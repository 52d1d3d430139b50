// Operator alerts by e-mail (SMTP, as the seed's monit.js sent them) and/or a JSON webhook. One
// alert per kind of failure until it heals, then one "recovered" notice: an outage of a minute
// gives two messages, not thousands. Each channel sends on its own background thread (libcurl),
// so a mail server that hangs does not delay the webhook, nor the other way round.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "notify/alert_channel.hpp"
#include "notify/alert_config.hpp"

namespace herald::notify {

class Alerter {
 public:
  explicit Alerter(AlertConfig config);
  // Waits for the attempts in flight (at most one timeout); what is still queued is tried only
  // within that time, so call flush() first to be sure everything went out.
  ~Alerter();
  Alerter(const Alerter&) = delete;
  Alerter& operator=(const Alerter&) = delete;

  bool enabled() const { return !config_.smtp_url.empty() || !config_.webhook.empty(); }
  // Sends an alert for `kind` unless one is already out; from any thread.
  void raise(const std::string& kind, const std::string& text);
  // Sends a "recovered" notice if `kind` was raised.
  void resolve(const std::string& kind, const std::string& text);
  // Sends one message as is (`state` "alert" or "recovered"), for callers that deduplicate
  // themselves (the supervisor).
  void send(const std::string& kind, const std::string& state, const std::string& text);
  // Waits until everything queued on every channel has been tried (for tests and for
  // `herald monitor` at exit).
  void flush();

 private:
  void queue(const AlertMessage& message);  // to every channel; with mutex_ held, so in order

  const AlertConfig config_;
  std::mutex mutex_;
  std::set<std::string> raised_;
  std::vector<std::unique_ptr<AlertChannel>> channels_;  // after config_: they use it
};

}  // namespace herald::notify
