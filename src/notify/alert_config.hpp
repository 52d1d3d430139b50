// What the alerter sends and where: shared by the alerter and its mail and webhook channels.
#pragma once

#include <string>
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

struct AlertMessage {
  std::string kind;
  std::string state;  // "alert" or "recovered"
  std::string text;
};

}  // namespace herald::notify
