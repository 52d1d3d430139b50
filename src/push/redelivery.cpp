#include "push/redelivery.hpp"

#include <spdlog/spdlog.h>

#include <unordered_set>

#include "metrics/metrics.hpp"
#include "net/loop_pool.hpp"
#include "push/clock.hpp"
#include "push/user_data.hpp"

namespace herald::push {
namespace {

using socketio::Json;

// Late receipts are posted in batches: at most this many per POST, at most this long after the first.
constexpr size_t kReceiptBatch = 500;
constexpr auto kReceiptDelay = std::chrono::milliseconds(200);

}  // namespace

Redelivery::Redelivery(socketio::Namespace& nsp, const Config& config, notify::WebhookSender& webhooks,
                       PendingStore& store)
    : nsp_(nsp), config_(config), webhooks_(webhooks), store_(store), ledgers_(nsp.sockets().loop_count()) {}

void Redelivery::attach() {
  nsp_.on_server_side("herald:redeliver", [this](Json& args, const socketio::Namespace::ServerSideReply& reply) {
    std::vector<std::string> uids;
    if (!args.empty() && args[0].is_array())
      for (const auto& uid : args[0])
        if (uid.is_string()) uids.push_back(uid.get<std::string>());
    deliver_to_local(uids);
    if (reply) reply(nullptr);
  });
}

std::function<void()> Redelivery::back_on_calling_loop(std::function<void()> done) {
  if (!done) return nullptr;
  size_t loop = socketio::LoopSockets::origin_loop();
  return [this, loop, done = std::move(done)]() mutable { nsp_.sockets().post_to_loop(loop, std::move(done)); };
}

void Redelivery::keep(const std::string& uid, const PendingMessage& message, std::function<void()> done) {
  if (!enabled() || uid.empty()) {
    if (done) done();
    return;
  }
  store_.keep(uid, message, back_on_calling_loop(std::move(done)));
}

void Redelivery::keep_many(const std::vector<std::string>& uids, const PendingMessage& message,
                           std::function<void()> done) {
  if (!enabled() || uids.empty()) {
    if (done) done();
    return;
  }
  store_.keep_many(uids, message, back_on_calling_loop(std::move(done)));
}

void Redelivery::acked_in_time(const std::string& uid, const std::string& msg_id) {
  store_.acked(uid, msg_id, nullptr);
}

void Redelivery::deliver_to(socketio::Socket& socket) {
  if (!enabled()) return;
  std::string uid(user_of(socket));
  if (uid.empty()) return;
  // The store may answer on another thread (Redis): the socket is found again on its loop, still
  // logged in as the same user.
  store_.pending_of(uid, [this, weak = socket.weak_from_this(), loop = socket.loop(), uid,
                          seq = login_seq_of(socket)](PendingStore::Messages messages) {
    if (messages.empty()) return;
    nsp_.sockets().post_to_loop(loop, [this, weak, loop, uid, seq, messages = std::move(messages)]() mutable {
      auto held = weak.lock();
      if (!held || !held->connected() || user_of(*held) != uid || login_seq_of(*held) != seq) return;
      auto& metrics = metrics::global();
      RedeliveryLedger& ledger = ledgers_[loop];
      auto now = nsp_.server().pool().clock().now();
      for (auto& message : messages) {
        if (!ledger.begin(held->id(), message.msg_id, now)) continue;
        metrics.redeliveries.fetch_add(1, std::memory_order_relaxed);
        held->emit_with_ack(message.event, Json::array({message.msg_id, std::move(message.message)}),
                            config_.default_ack_timeout,
                            [this, loop, uid, sid = held->id(), msg_id = message.msg_id](bool timed_out, Json&) {
                              ledgers_[loop].answered(sid, msg_id, !timed_out, nsp_.server().pool().clock().now());
                              if (!timed_out) late_receipt(uid, msg_id);
                            });
      }
    });
  });
}

void Redelivery::announce(const std::vector<std::string>& uids) {
  if (uids.empty()) return;
  nsp_.server_side_emit(Json::array({"herald:redeliver", uids}));
  deliver_to_local(uids);
}

void Redelivery::deliver_to_local(const std::vector<std::string>& uids) {
  if (uids.empty()) return;
  auto users = std::make_shared<UidSet>(uids.begin(), uids.end());
  socketio::Target target{
      uids, {}, [users](const socketio::Socket& socket) { return users->contains(user_of(socket)); }, Json::object()};
  nsp_.sockets().for_each_loop(std::move(target), [this](const std::vector<socketio::Socket*>& sockets) {
    for (socketio::Socket* socket : sockets) deliver_to(*socket);
  });
}

void Redelivery::deliver_to_everyone_here() {
  socketio::Target target{
      {}, {}, [](const socketio::Socket& socket) { return !user_of(socket).empty(); }, Json::object()};
  nsp_.sockets().for_each_loop(std::move(target), [this](const std::vector<socketio::Socket*>& sockets) {
    for (socketio::Socket* socket : sockets) deliver_to(*socket);
  });
}

void Redelivery::states(const std::string& msg_id, std::function<void(PendingStore::States)> done) {
  size_t loop = socketio::LoopSockets::origin_loop();
  store_.states(msg_id, [this, loop, done = std::move(done)](PendingStore::States states) mutable {
    nsp_.sockets().post_to_loop(
        loop, [done = std::move(done), states = std::move(states)]() mutable { done(std::move(states)); });
  });
}

void Redelivery::late_receipt(const std::string& uid, const std::string& msg_id) {
  store_.acked(uid, msg_id, [this, uid, msg_id](bool was_pending) {
    if (was_pending) report_late_receipt(uid, msg_id);  // else acked already, by another socket of the user
  });
}

void Redelivery::report_late_receipt(const std::string& uid, const std::string& msg_id) {
  metrics::global().late_receipts.fetch_add(1, std::memory_order_relaxed);
  if (config_.receipt_webhook.empty()) return;
  bool first;
  {
    std::lock_guard lock(receipts_mutex_);
    first = receipts_.empty();
    receipts_.push_back(Json{{"msgId", msg_id}, {"uid", uid}, {"ackedAt", epoch_ms(WallClock::now())}});
    if (receipts_.size() >= kReceiptBatch) {
      Json batch = std::exchange(receipts_, Json::array());
      webhooks_.post(config_.receipt_webhook, Json{{"receipts", std::move(batch)}}.dump());
      return;
    }
  }
  if (first) {
    nsp_.sockets().post_to_loop(0, [this] {
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
