// Settings of the push service (the seed's behaviour where it had one).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "auth/auth_webhook.hpp"
#include "auth/jwt.hpp"

namespace herald::push {

struct Config {
  std::string nsp = "/";  // the namespace pushes go into (the seed used /heikuai)
  // One socket per user: a new login kicks the older socket with repeat("-1", text).
  bool single_session = false;
  std::chrono::milliseconds default_ack_timeout{10000};
  std::chrono::milliseconds max_ack_timeout{120000};
  // How long a request to the other nodes (changeRoom counts) waits for their answers.
  std::chrono::milliseconds cluster_timeout{5000};
  size_t max_targets = 10000;  // users or rooms in one request
  size_t max_id_length = 256;  // msgId, user id, room name
  size_t max_offline_messages = 1000;
  // One changeRoom call changes at most this many memberships: users x (joins + leaves).
  size_t max_room_changes = 1'000'000;
  std::string login_webhook;  // POSTed {uid, socketId, time} on every login, when set
  // At-least-once delivery of acked pushes: how long an unacknowledged one is kept (0: not kept),
  // and the bounds on what is kept.
  std::chrono::milliseconds message_ttl{86'400'000};
  size_t max_pending_per_user = 1000;
  size_t max_pending_bytes = size_t{256} << 20;
  std::string receipt_webhook;
  // Client authentication: null trusts login(uid) (the seed's way); set, a connection must bring a
  // token (auth {token} or ?token=) and is logged in as its `sub`, never as anyone else.
  std::shared_ptr<const auth::JwtVerifier> jwt;  // POSTed {receipts: [{msgId, uid, ackedAt}]} for late acks, when set
  // Or the backend says who a connection is (--client-auth webhook): logged in as its uid, never as
  // anyone else.
  std::shared_ptr<const auth::AuthWebhook> auth_webhook;

  // Whether connections are logged in by the server (a token or the webhook), not by login(uid).
  bool authenticated() const { return jwt || auth_webhook; }
};

}  // namespace herald::push
