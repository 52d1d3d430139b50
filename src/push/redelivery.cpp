#include "push/redelivery.hpp"

#include <spdlog/spdlog.h>

#include "metrics/metrics.hpp"
#include "net/loop_pool.hpp"

namespace herald::push {
namespace {

using socketio::Json;
using Clock = std::chrono::system_clock;

// Late receipts are posted in batches: at most this many per POST, at most this long after the first.
constexpr size_t kReceiptBatch = 500;
constexpr auto kReceiptDelay = std::chrono::milliseconds(200);

int64_t epoch_ms(Clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

}  // namespace

Redelivery::Redelivery(socketio::Namespace& nsp, const Config& config, notify::WebhookSender& webhooks)
    : nsp_(nsp),
      config_(config),
      webhooks_(webhooks),
      pending_(PendingLimits{config.max_pending_per_user, config.max_pending_bytes}) {}

void Redelivery::keep(const std::string& uid, const PendingMessage& message) {
  if (!enabled() || uid.empty()) return;
  if (pending_.add(uid, message)) metrics::global().pending_kept.fetch_add(1, std::memory_order_relaxed);
}

void Redelivery::acked_in_time(const std::string& uid, const std::string& msg_id) { pending_.acked(uid, msg_id); }

void Redelivery::deliver_to(socketio::Socket& socket) {
  if (!enabled() || socket.user().empty()) return;
  auto messages = pending_.of(socket.user());
  if (messages.empty()) return;
  auto& metrics = metrics::global();
  for (auto& message : messages) {
    metrics.redeliveries.fetch_add(1, std::memory_order_relaxed);
    socket.emit_with_ack(message.event, Json::array({message.msg_id, std::move(message.message)}),
                         config_.default_ack_timeout,
                         [this, uid = socket.user(), msg_id = message.msg_id](bool timed_out, Json&) {
                           if (!timed_out) late_receipt(uid, msg_id);
                         });
  }
}

void Redelivery::late_receipt(const std::string& uid, const std::string& msg_id) {
  if (!pending_.acked(uid, msg_id)) return;  // acked already, by another socket of the user
  metrics::global().late_receipts.fetch_add(1, std::memory_order_relaxed);
  if (config_.receipt_webhook.empty()) return;
  bool first;
  {
    std::lock_guard lock(receipts_mutex_);
    first = receipts_.empty();
    receipts_.push_back(Json{{"msgId", msg_id}, {"uid", uid}, {"ackedAt", epoch_ms(Clock::now())}});
    if (receipts_.size() >= kReceiptBatch) {
      Json batch = std::exchange(receipts_, Json::array());
      webhooks_.post(config_.receipt_webhook, Json{{"receipts", std::move(batch)}}.dump());
      return;
    }
  }
  if (first) {
    nsp_.post_to_loop(0, [this] {
      if (!flush_timer_) flush_timer_ = std::make_unique<boost::asio::steady_timer>(nsp_.server().pool().loop(0));
      flush_timer_->expires_after(kReceiptDelay);
      flush_timer_->async_wait([this](const boost::system::error_code& ec) {
        if (!ec) flush_receipts();
      });
    });
  }
}

void Redelivery::flush_receipts() {
  Json batch;
  {
    std::lock_guard lock(receipts_mutex_);
    if (receipts_.empty()) return;
    batch = std::exchange(receipts_, Json::array());
  }
  webhooks_.post(config_.receipt_webhook, Json{{"receipts", std::move(batch)}}.dump());
}

}  // namespace herald::push
