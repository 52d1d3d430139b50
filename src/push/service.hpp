// The push service: users, deliveries with receipts, offline messages and room changes, on one
// namespace of a Socket.IO server. What the HTTP API calls; results come back on the calling loop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "notify/webhook.hpp"
#include "push/config.hpp"
#include "push/delivery.hpp"
#include "push/redelivery.hpp"
#include "push/room_directory.hpp"
#include "push/users.hpp"
#include "socketio/server.hpp"

namespace herald::push {

struct OfflineMessage {
  std::string msg_id;
  socketio::Json message;
};

struct OfflineResult {
  std::vector<std::string> acked;      // msgIds the user acknowledged
  std::vector<std::string> not_acked;  // the others
  bool online = false;
};

struct ChangeRoomResult {
  size_t sockets = 0;    // sockets moved, on every node that answered
  bool complete = true;  // false: some node did not answer (or the cluster was unreachable)
};

struct Stats {
  size_t connections = 0;  // Engine.IO sessions, all namespaces
  size_t sockets = 0;      // sockets in the push namespace
  size_t logged_in = 0;    // of which logged in
};

class Service {
 public:
  // `directory`: where users' rooms live; `pending`: where kept acked pushes live (null: in this
  // process, for both).
  Service(socketio::Server& io, Config config, std::unique_ptr<RoomDirectory> directory = nullptr,
          std::unique_ptr<PendingStore> pending = nullptr);

  const Config& config() const { return config_; }
  Users& users() { return users_; }
  RoomDirectory& directory() { return *directory_; }
  Redelivery& redelivery() { return redelivery_; }
  // Cluster: who is logged in on which node. Set before the loops run.
  void set_presence(Presence* presence) {
    users_.set_presence(presence);
    delivery_.set_presence(presence, directory_.get());
  }

  void push(PushRequest request, std::function<void(PushResult&)> done) {
    delivery_.push(std::move(request), std::move(done));
  }
  // Sends each message to the user with ack; reports which were acknowledged.
  void push_offline(const std::string& uid, std::vector<OfflineMessage> messages, std::chrono::milliseconds timeout,
                    std::function<void(OfflineResult&)> done);
  // The users' sockets join and leave rooms, and are told with changeRoom("-2", {joins, leaves}).
  // With `count_other_nodes`, `done` waits for the other nodes to say how many sockets they moved
  // (up to cluster_timeout); without, it counts this node's only and answers at once.
  void change_room(const std::vector<std::string>& uids, std::vector<std::string> joins,
                   std::vector<std::string> leaves, bool count_other_nodes,
                   std::function<void(ChangeRoomResult&)> done);
  void stats(std::function<void(Stats&)> done);
  socketio::Namespace& nsp() { return nsp_; }
  // Runs `work` on an event loop (for results that arrive on other threads).
  void post(size_t loop, std::function<void()> work) { io_.pool().post(loop, std::move(work)); }

 private:
  void change_room_local(const std::vector<std::string>& uids, std::vector<std::string> joins,
                         std::vector<std::string> leaves, std::function<void(ChangeRoomResult&)> done);

  socketio::Server& io_;
  Config config_;
  socketio::Namespace& nsp_;
  std::unique_ptr<RoomDirectory> directory_;
  std::unique_ptr<PendingStore> pending_;
  notify::WebhookSender webhooks_;
  Redelivery redelivery_;
  Users users_;
  Delivery delivery_;
};

}  // namespace herald::push
