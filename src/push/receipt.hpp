// The receipts of one acked push: which users it reached, which acked, which dropped, and for
// whom it is kept until they ack (at least once). Made by Delivery::push and kept on the loop
// that started the push: every report (each loop's and each node's reach, each ack and drop, the
// other nodes' keeps, the timeout) comes there.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/clock.hpp"
#include "push/delivery.hpp"
#include "push/pending.hpp"
#include "push/user_data.hpp"
#include "socketio/server.hpp"

namespace herald::push {

class Redelivery;
class Presence;
class RoomDirectory;

struct Receipt : std::enable_shared_from_this<Receipt> {
  explicit Receipt(net::Clock& pool_clock) : clock(pool_clock), started(pool_clock.now()) {}

  net::Clock& clock;  // the pool's: the wait and the times reported follow it (a manual one in tests)
  net::Clock::time_point started;
  PushRequest::Kind kind;
  std::vector<std::string> targets;
  size_t loops_pending;
  bool remote_known = false;  // how many other nodes will report is known
  // Each user reached: whether one of its sockets acknowledged, and how many of its sockets are
  // still open; one table for every question.
  struct Reach {
    bool acked = false;
    bool gone = false;  // every socket reached closed before acking: it will not ack this time
    uint32_t open = 0;
    // Sockets reported closed before their node's count of the sockets reached arrived.
    uint32_t dropped_early = 0;
  };
  UidMap<Reach> reached_users;
  size_t users_acked = 0;
  size_t users_gone = 0;
  // Sockets without a user (a Node server's clients in a shared cluster): counted, not named.
  size_t anonymous_reached = 0;
  size_t anonymous_acked = 0;
  PushResult result;
  std::function<void(PushResult&)> done;
  // At least once: the push as kept for users who do not ack it, and who it was kept for.
  Redelivery* redelivery = nullptr;
  std::optional<PendingMessage> kept_message;
  UidSet kept_for;
  // The answer says "kept" only once the store has it: it waits for keeps still being written.
  size_t keeps_in_flight = 0;
  std::vector<std::string> kept_away;  // kept for users who were not seen: told once stored
  // Users of a room or "all" push known only by a dropped session here. Kept once every node's
  // reach is counted, for those the push did not reach live: a user reached live is kept by what
  // its sockets do (a drop or a timeout), and otherwise its ack would follow a second copy sent to
  // the very socket that already has the push.
  std::vector<std::string> dropped_here;
  bool dropped_here_kept = false;
  std::function<void()> after_keeps;
  std::unique_ptr<net::Alarm> timer;
  bool finished = false;
  // Room and "all" pushes: the Herald nodes that counted it. The users of a node that did not (it
  // died, or is too slow) are known only from presence, and the push is kept for them.
  std::vector<std::string> counted_nodes;
  // Of those, the nodes that said they kept the push for their own dropped users (known once they
  // all answered or the wait ended). A node that counted and died before keeping is not one of
  // them: its users are then kept from presence, as a silent node's are.
  std::vector<std::string> confirmed_nodes;
  bool confirmations_known = false;
  // Users the other nodes kept the push for (their dropped sessions), while it is not known
  // whether the push reached them live; then those reached who may still ack.
  std::vector<std::string> kept_elsewhere;
  bool kept_elsewhere_settled = false;
  UidSet kept_elsewhere_reached;
  bool silent_nodes_checked = false;
  Presence* presence = nullptr;
  RoomDirectory* directory = nullptr;
  socketio::Namespace* nsp = nullptr;
  size_t origin = 0;
  size_t silent_node_users_kept = 0;

  void on_reached(const std::vector<socketio::SocketInfo>& sockets);
  void on_ack(const socketio::SocketInfo& socket);
  // The entry of a user reached, made on first sight (the key copied once).
  Reach& reach_of(std::string_view uid);
  // Kept for `uid` until acked: it is not here, or its socket dropped before acking. With
  // `away`, the user was not seen: it may be logging in right now, after the push passed its node
  // and before the store had the push, so its sockets are told once the store has it.
  void keep(const std::string& uid, bool away = false);
  void kept_one();
  // A reached socket closed before acking: the push is kept for its user, and a user whose every
  // socket closed is not waited for (the answer comes without waiting out the timeout).
  void on_dropped(const socketio::SocketInfo& socket);
  void closed_one(Reach& user);
  // The other nodes answered whether they kept the push for their dropped users, and for whom.
  // After the answer, the users of a node that counted but did not say so are kept now.
  void on_dropped_keeps_confirmed(std::vector<std::string> nodes, std::vector<std::string> kept_users);
  // The nodes that counted the push and, once known, also kept it for their dropped users.
  std::vector<std::string> answered_nodes() const;
  // Counted as one keep in flight until every user it finds is kept (or found not targeted).
  void keep_for_uncounted_nodes();
  void keep_targeted(const std::vector<std::string>& users);
  void keep_for_silent_node_user(const std::string& uid);
  void on_remote_nodes(size_t nodes, bool reachable);
  // Once every node's reach is counted (or the wait ended): the users dropped here whom the push
  // did not reach live are kept.
  void keep_dropped_here_unreached();
  // Once every node's reach is counted and the other nodes said whom they kept it for: of those
  // users, the ones reached live who acked are taken out of the store, the ones not reached are
  // told (they may be logging in right now), and the ones reached who have not acked yet are
  // taken out when they do.
  void settle_kept_elsewhere();
  bool reach_counted() const { return loops_pending == 0 && remote_known; }
  void check_complete();
  void finish(bool complete);
};

}  // namespace herald::push
