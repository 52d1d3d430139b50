// Operator alerts by e-mail (SMTP, as the seed's monit.js sent them) and/or a JSON webhook. One
// alert per kind of failure until it heals, then one "recovered" notice: an outage of a minute
// gives two messages, not thousands. Sending happens on a background thread (libcurl).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace herald::notify {

struct AlertConfig {
  std::string smtp_url;          // smtp://host:port (STARTTLS per smtp_tls) or smtps://host:port
  std::string smtp_tls = "try";  // off, try, on: STARTTLS on smtp://
  bool smtp_insecure = false;    // accept any certificate (test servers)
  std::string smtp_user;
  std::string smtp_pass;
  std::string from;
  std::vector<std::string> to;
  std::string webhook;  // POSTed {kind, state, text, node, time}
  std::string node;     // names this process in messages
};

class Alerter {
 public:
  explicit Alerter(AlertConfig config);
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
  // Waits until everything queued has been tried (for tests and for `herald monitor` at exit).
  void flush();

 private:
  struct Message {
    std::string kind;
    std::string state;  // "alert" or "recovered"
    std::string text;
  };
  void run();
  void send_mail(const Message& message);
  void send_webhook(const Message& message);

  AlertConfig config_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Message> queue_;
  std::set<std::string> raised_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace herald::notify
