// At-least-once delivery of acked pushes: what a user has not acknowledged is kept (a
// PendingStore: this process's memory, or Redis in a cluster) and sent again to each socket of
// that user that logs in or comes back, until acked or expired. Acks that arrive this way are late
// receipts: the backend learns of them from the receipt webhook (batched POSTs
// {receipts: [{msgId, uid, ackedAt}]}) and GET /api/v1/messages/<msgId>.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "notify/webhook.hpp"
#include "push/config.hpp"
#include "push/pending_store.hpp"
#include "push/redelivery_ledger.hpp"
#include "socketio/server.hpp"

namespace herald::push {

class Redelivery {
 public:
  Redelivery(socketio::Namespace& nsp, const Config& config, notify::WebhookSender& webhooks, PendingStore& store);
  // Listens for the other nodes' word that users have messages to be sent again.
  void attach();

  bool enabled() const { return config_.message_ttl.count() > 0; }
  // Keeps `message` for `uid` until acked (no-op when a time to live of 0 turns this off); `done`
  // (may be null) runs on the calling loop once the store has it.
  void keep(const std::string& uid, const PendingMessage& message, std::function<void()> done);
  // The same for each of `uids`, with one `done` once the store has them all.
  void keep_many(const std::vector<std::string>& uids, const PendingMessage& message, std::function<void()> done);
  // The user acknowledged the original push: nothing to send again.
  void acked_in_time(const std::string& uid, const std::string& msg_id);
  // On the socket's loop: sends the user's pending messages to a socket that logged in or came back
  // (each to a socket once until it answers; see RedeliveryLedger).
  void deliver_to(socketio::Socket& socket);
  // Sends their pending messages to the sockets of `uids` on every node (messages kept where no
  // node could see them, such as during a Redis outage, now reachable).
  void announce(const std::vector<std::string>& uids);
  // The same on this node only.
  void deliver_to_local(const std::vector<std::string>& uids);
  // To every logged-in socket of this node (after its connection to the cluster came up: word of
  // pushes kept meanwhile may have passed it by).
  void deliver_to_everyone_here();
  // Per user, what became of `msg_id`; `done` runs on the calling loop.
  void states(const std::string& msg_id, std::function<void(PendingStore::States)> done);

 private:
  // `done` wrapped to run on the loop calling this (the store may answer on another thread); null
  // stays null.
  std::function<void()> back_on_calling_loop(std::function<void()> done);
  void late_receipt(const std::string& uid, const std::string& msg_id);
  void report_late_receipt(const std::string& uid, const std::string& msg_id);
  void flush_receipts();

  socketio::Namespace& nsp_;
  const Config& config_;
  notify::WebhookSender& webhooks_;
  PendingStore& store_;
  std::vector<RedeliveryLedger> ledgers_;  // one per loop, used on that loop only
  std::mutex receipts_mutex_;
  socketio::Json receipts_ = socketio::Json::array();       // guarded: late receipts not yet posted
  std::unique_ptr<boost::asio::steady_timer> flush_timer_;  // loop 0's
};

}  // namespace herald::push
