// Pushes with delivery receipts: `message(msgId, message)` goes to the targeted users' sockets
// with an acknowledgement request, and the result is reported as soon as every user reached has
// acknowledged (or when the wait ends): never a fixed wait. Encoded once for all recipients.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "push/config.hpp"
#include "push/pending.hpp"
#include "push/push_filter.hpp"
#include "socketio/server.hpp"

namespace herald::push {

struct PushRequest {
  enum class Kind { Users, Rooms, All };
  Kind kind = Kind::Users;
  std::vector<std::string> targets;  // user ids or room names
  std::string msg_id;
  socketio::Json message;
  bool ack = true;
  std::chrono::milliseconds timeout{10000};
  std::string event = "message";
  // How long the push is kept for users who have not acked it (Config::message_ttl when unset).
  std::optional<std::chrono::milliseconds> ttl;
};

struct PushResult {
  std::vector<std::string> acked;      // users that acknowledged, in order of arrival
  std::vector<std::string> offline;    // targeted users with no socket (Users pushes)
  std::vector<std::string> timed_out;  // users reached who did not acknowledge in time
  std::vector<std::string> kept;       // users it is kept for, to be sent again when they are back
  size_t users_reached = 0;
  size_t sockets_reached = 0;
  size_t sockets_acked = 0;
  bool complete = false;             // every user reached acknowledged
  bool cluster_unreachable = false;  // Redis was down: only this node's users were reached
  std::chrono::microseconds elapsed{0};
};

class Redelivery;
class Presence;
class RoomDirectory;
class InFlightPushes;

class Delivery {
 public:
  Delivery(socketio::Namespace& nsp, const Config& config, Redelivery& redelivery);
  ~Delivery();

  // Listens for the other nodes' room and "all" pushes to keep for users dropped here.
  void attach();
  // Cluster: where the users of nodes that do not answer a push are found, and users' rooms.
  // Set before the loops run.
  void set_presence(Presence* presence, RoomDirectory* directory) {
    presence_ = presence;
    directory_ = directory;
  }
  // Sends the push; `done` runs once on the calling loop (at once when ack is off).
  void push(PushRequest request, std::function<void(PushResult&)> done);

 private:
  // A room or "all" push reaches no dropped socket: each node keeps it for its own dropped users.
  // `confirmed` gets, on the calling loop, the nodes that said they did within the push's timeout
  // and the users they kept it for.
  using KeepsConfirmed = std::function<void(std::vector<std::string> nodes, std::vector<std::string> kept_users)>;
  void keep_for_dropped_elsewhere(const PushRequest& request, const PendingMessage& message, KeepsConfirmed confirmed);
  // Another node's room or "all" push: kept for the users dropped here, then `kept_here` with them.
  void keep_for_dropped_here(const PushRequest& request, const PendingMessage& message,
                             const std::function<void(std::vector<std::string>)>& kept_here);
  // Users whose sockets dropped within the recovery window and that `request` targets. The push
  // (kept as `message`) is watched by InFlightPushes from just before this read.
  std::vector<std::string> dropped_users(const PushRequest& request, const PendingMessage& message);
  // For InFlightPushes: kept, then the user's sockets anywhere are told once the store has them.
  void keep_and_announce(const std::string& uid, const std::vector<PendingMessage>& messages);
  // Whether room and "all" pushes are watched while they are sent (recovery and keeping are on).
  bool watching() const;

  socketio::Namespace& nsp_;
  const Config& config_;
  Redelivery& redelivery_;
  Presence* presence_ = nullptr;
  RoomDirectory* directory_ = nullptr;
  std::unique_ptr<InFlightPushes> in_flight_;
};

}  // namespace herald::push
