// The webhook channel of the alerter: one JSON POST {kind, state, text, node, time} per alert.
#pragma once

#include <chrono>

#include "notify/alert_config.hpp"

namespace herald::notify {

inline constexpr std::chrono::milliseconds kAlertWebhookTimeout{10'000};

// POSTs `message` to config.webhook; logs a failure. Blocks for at most `timeout`.
void send_alert_webhook(const AlertConfig& config, const AlertMessage& message, std::chrono::milliseconds timeout);

}  // namespace herald::notify
