// The e-mail channel of the alerter: one message per alert over SMTP (libcurl).
#pragma once

#include <chrono>

#include "notify/alert_config.hpp"

namespace herald::notify {

// A whole SMTP conversation (connect, STARTTLS, AUTH, DATA) takes well under a second with a
// working relay; 10 s leaves room for a slow one without keeping shutdown waiting long.
inline constexpr std::chrono::milliseconds kMailTimeout{10'000};

// Sends `message` to config.to; logs the outcome. Blocks for at most `timeout`.
void send_alert_mail(const AlertConfig& config, const AlertMessage& message, std::chrono::milliseconds timeout);

}  // namespace herald::notify
