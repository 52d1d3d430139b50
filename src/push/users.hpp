// Users on the socket side (the seed's login protocol): login(uid) or `uid` in the handshake auth,
// logout or disconnect; rooms from the directory joined on login; a second login kicking the first
// when single_session is on; a login notice for the backend.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>

#include "net/http.hpp"
#include "notify/webhook.hpp"
#include "push/config.hpp"
#include "push/room_directory.hpp"
#include "push/token_expiry.hpp"
#include "socketio/server.hpp"

namespace herald::push {

class Redelivery;

// Where logins are recorded beyond this process (a cluster keeps them in Redis).
class Presence {
 public:
  virtual ~Presence() = default;
  virtual void logged_in(const std::string& uid, const std::string& socket_id) = 0;
  virtual void logged_out(const std::string& uid, const std::string& socket_id) = 0;
  // The socket dropped and left a recovery session: its user is away, not gone, until the session
  // ends (pushes to all, and to its rooms, are still kept for it).
  virtual void dropped(const std::string& uid, const std::string& socket_id) { logged_out(uid, socket_id); }
  // The users recorded on nodes other than this one and those `counted` (nodes that did not answer
  // a push: dead, stopped or too slow), their dropped sockets that may come back included. `done`
  // may run on another thread. Without a cluster: none. By value: the cluster's version keeps
  // both for its Redis replies.
  // NOLINTBEGIN(performance-unnecessary-value-param)
  virtual void users_on_nodes_except(std::vector<std::string> /*counted*/,
                                     std::function<void(std::vector<std::string> users)> done) {
    done({});
  }
  // NOLINTEND(performance-unnecessary-value-param)
  // This node's id in the cluster (as the adapter's counts name it); empty without a cluster.
  virtual std::string node() const { return {}; }
};

class Users {
 public:
  Users(socketio::Namespace& nsp, const Config& config, RoomDirectory& directory, notify::WebhookSender& webhooks,
        Redelivery& redelivery);

  // Registers the login/logout handlers on the namespace.
  void attach();
  // Set before the loops run; called on the socket's loop.
  void set_presence(Presence* presence) { presence_ = presence; }
  // Sockets of `uid` on every loop; `done` runs on the calling loop.
  void count_sockets(const std::string& uid, std::function<void(size_t)> done);
  // Validates a user id from a client or the API; returns an error text or empty.
  std::string check_uid(const socketio::Json& value, std::string& uid) const;

 private:
  void login(socketio::Socket& socket, const std::string& uid);
  void logout(socketio::Socket& socket);
  // Here and on every other node: sockets of `uid` from logins older than `seq` get repeat and go.
  void kick_older_sessions(const std::string& uid, uint64_t seq, const std::string& socket_id);
  void kick_local(const std::string& uid, uint64_t seq, const std::string& socket_id);
  void publish_login(const socketio::Socket& socket, const std::string& uid);
  // refresh_token(token, ack): a fresh token for the same user keeps the connection past `exp`.
  void refresh_token(socketio::Socket& socket, const socketio::Json& args, socketio::Ack& ack);
  void attach_webhook();
  // The connection ends at `expires_ms` (epoch ms) unless a fresh token comes first.
  void track_token(socketio::Socket& socket, int64_t expires_ms);

  socketio::Namespace& nsp_;
  const Config& config_;
  RoomDirectory& directory_;
  notify::WebhookSender& webhooks_;
  Redelivery& redelivery_;
  Presence* presence_ = nullptr;
  TokenExpiry token_expiry_;
  std::atomic<uint64_t> login_seq_{0};
};

}  // namespace herald::push
