#include "push/receipt.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "metrics/metrics.hpp"
#include "push/redelivery.hpp"
#include "push/room_directory.hpp"
#include "push/users.hpp"

namespace herald::push {

void Receipt::on_reached(const std::vector<socketio::SocketInfo>& sockets) {
  metrics::global().deliveries.fetch_add(sockets.size(), std::memory_order_relaxed);
  // One rehash up front instead of a series of them while a big broadcast is counted.
  reached_users.reserve(reached_users.size() + sockets.size());
  for (const auto& socket : sockets) {
    ++result.sockets_reached;
    std::string_view uid = user_of(socket);
    if (uid.empty()) {
      ++anonymous_reached;
      continue;
    }
    Reach& user = reach_of(uid);
    ++user.open;
    if (user.dropped_early > 0) {
      --user.dropped_early;
      closed_one(user);
    }
  }
  --loops_pending;
  check_complete();
}

void Receipt::on_ack(const socketio::SocketInfo& socket) {
  if (finished) return;
  auto& metrics = metrics::global();
  metrics.receipts.fetch_add(1, std::memory_order_relaxed);
  metrics.delivery_latency.observe(std::chrono::duration_cast<std::chrono::microseconds>(clock.now() - started));
  ++result.sockets_acked;
  std::string_view uid = user_of(socket);
  if (uid.empty()) {
    ++anonymous_acked;
  } else {
    // Another node may send an ack before its count of the users reached.
    Reach& user = reach_of(uid);
    if (!user.acked) {
      user.acked = true;
      ++users_acked;
      if (user.gone) {
        user.gone = false;
        --users_gone;
      }
      result.acked.emplace_back(uid);
      // Kept here for the user's dropped session, or by another node before this ack came: the
      // keep goes.
      for (UidSet* keeps : {&kept_for, &kept_elsewhere_reached}) {
        if (auto kept = keeps->find(uid); kept != keeps->end()) {
          redelivery->acked_in_time(*kept, kept_message->msg_id);
          keeps->erase(kept);
        }
      }
    }
  }
  check_complete();
}

Receipt::Reach& Receipt::reach_of(std::string_view uid) {
  if (auto found = reached_users.find(uid); found != reached_users.end()) return found->second;
  return reached_users.emplace(std::string(uid), Reach{}).first->second;
}

void Receipt::keep(const std::string& uid, bool away) {
  if (!kept_message || uid.empty()) return;
  if (auto found = reached_users.find(uid); found != reached_users.end() && found->second.acked) return;
  if (!kept_for.insert(uid).second) {
    // Kept already as reached but silent, and now known to be away (its node is gone): it may
    // have logged in elsewhere meanwhile, so its sockets are told too once the keeps are stored.
    if (away && keeps_in_flight > 0) kept_away.push_back(uid);
    return;
  }
  ++keeps_in_flight;
  if (away) kept_away.push_back(uid);
  redelivery->keep(uid, *kept_message, [self = shared_from_this()] { self->kept_one(); });
}

void Receipt::kept_one() {
  if (--keeps_in_flight > 0) return;
  if (!kept_away.empty()) redelivery->announce(std::exchange(kept_away, {}));
  if (!after_keeps) return;
  auto answer = std::move(after_keeps);
  after_keeps = nullptr;
  answer();
}

void Receipt::on_dropped(const socketio::SocketInfo& socket) {
  std::string_view uid = user_of(socket);
  if (finished || uid.empty()) return;
  // A Herald node answers its count before any drop; a drop that comes first (a node of an
  // older version) is matched with the count when it arrives.
  Reach& user = reach_of(uid);
  if (user.acked) return;
  if (user.open == 0) {
    ++user.dropped_early;
    keep(std::string(uid));
    return;
  }
  closed_one(user);
  // With its last socket gone, the user may be back somewhere before the store has the push:
  // its sockets are told once it does.
  keep(std::string(uid), user.gone);
  check_complete();
}

void Receipt::closed_one(Reach& user) {
  if (--user.open == 0 && !user.gone && !user.acked) {
    user.gone = true;
    ++users_gone;
  }
}

void Receipt::on_dropped_keeps_confirmed(std::vector<std::string> nodes, std::vector<std::string> kept_users) {
  confirmed_nodes = std::move(nodes);
  confirmations_known = true;
  kept_elsewhere = std::move(kept_users);
  settle_kept_elsewhere();
  if (!silent_nodes_checked) return;  // finish() checks with them
  if (answered_nodes().size() < counted_nodes.size()) keep_for_uncounted_nodes();
}

std::vector<std::string> Receipt::answered_nodes() const {
  if (!confirmations_known) return counted_nodes;
  std::vector<std::string> answered;
  for (const auto& node : counted_nodes)
    if (std::find(confirmed_nodes.begin(), confirmed_nodes.end(), node) != confirmed_nodes.end())
      answered.push_back(node);
  return answered;
}

void Receipt::keep_for_uncounted_nodes() {
  ++keeps_in_flight;
  presence->users_on_nodes_except(answered_nodes(), [self = shared_from_this()](std::vector<std::string> users) {
    spdlog::debug("push: {} kept for {} users of nodes that did not answer", self->kept_message->msg_id, users.size());
    self->nsp->sockets().post_to_loop(self->origin, [self, users = std::move(users)] { self->keep_targeted(users); });
  });
}

void Receipt::keep_targeted(const std::vector<std::string>& users) {
  for (const auto& uid : users) {
    if (kind == PushRequest::Kind::All || !directory) {
      keep_for_silent_node_user(uid);
      continue;
    }
    // A room push: kept for those of them whose rooms (the backend's, as on login) include one.
    ++keeps_in_flight;
    directory->rooms_of(uid, [self = shared_from_this(), uid](std::vector<std::string> rooms) {
      self->nsp->sockets().post_to_loop(self->origin, [self, uid, rooms = std::move(rooms)] {
        bool targeted = std::any_of(rooms.begin(), rooms.end(), [&](const std::string& room) {
          return std::find(self->targets.begin(), self->targets.end(), room) != self->targets.end();
        });
        if (targeted) self->keep_for_silent_node_user(uid);
        self->kept_one();
      });
    });
  }
  kept_one();
}

void Receipt::keep_for_silent_node_user(const std::string& uid) {
  auto& metrics = metrics::global();
  if (silent_node_users_kept++ == 0) metrics.pushes_kept_for_silent_nodes.fetch_add(1, std::memory_order_relaxed);
  metrics.pushes_kept_for_silent_node_users.fetch_add(1, std::memory_order_relaxed);
  keep(uid, true);
}

void Receipt::on_remote_nodes(size_t nodes, bool reachable) {
  loops_pending += nodes;
  if (!reachable) result.cluster_unreachable = true;
  remote_known = true;
  check_complete();
}

void Receipt::keep_dropped_here_unreached() {
  if (std::exchange(dropped_here_kept, true) || !kept_message) return;
  // One store call for them all: a push to all can find thousands of users away.
  std::vector<std::string> away;
  for (auto& uid : dropped_here)
    if (!reached_users.contains(uid) && kept_for.insert(uid).second) away.push_back(std::move(uid));
  dropped_here.clear();
  if (away.empty()) return;
  ++keeps_in_flight;
  kept_away.insert(kept_away.end(), away.begin(), away.end());
  redelivery->keep_many(away, *kept_message, [self = shared_from_this()] { self->kept_one(); });
}

void Receipt::settle_kept_elsewhere() {
  if (kept_elsewhere_settled || !confirmations_known || !(reach_counted() || finished)) return;
  kept_elsewhere_settled = true;
  std::vector<std::string> unreached;
  for (auto& uid : kept_elsewhere) {
    auto reach = reached_users.find(uid);
    if (reach == reached_users.end())
      unreached.push_back(std::move(uid));
    else if (reach->second.acked)
      redelivery->acked_in_time(uid, kept_message->msg_id);
    else if (!finished)
      kept_elsewhere_reached.insert(std::move(uid));
  }
  kept_elsewhere.clear();
  redelivery->announce(unreached);
}

void Receipt::check_complete() {
  if (finished || !reach_counted()) return;
  keep_dropped_here_unreached();
  settle_kept_elsewhere();
  if (users_acked + users_gone >= reached_users.size() && anonymous_acked >= anonymous_reached) finish(users_gone == 0);
}

void Receipt::finish(bool complete) {
  if (finished) return;
  finished = true;
  if (timer) timer->cancel();
  keep_dropped_here_unreached();
  settle_kept_elsewhere();
  result.complete = complete && loops_pending == 0 && remote_known;
  result.users_reached = reached_users.size();
  for (const auto& [uid, reach] : reached_users)
    if (!reach.acked) result.timed_out.push_back(uid);
  metrics::global().receipt_timeouts.fetch_add(result.timed_out.size(), std::memory_order_relaxed);
  if (kind == PushRequest::Kind::Users) {
    for (const auto& uid : targets)
      if (!reached_users.contains(uid)) result.offline.push_back(uid);
  }
  for (const auto& uid : result.timed_out) keep(uid);
  for (const auto& uid : result.offline) keep(uid, true);
  if (kind != PushRequest::Kind::Users && kept_message && presence) {
    silent_nodes_checked = true;
    keep_for_uncounted_nodes();
  }
  auto answer = [self = shared_from_this()] {
    self->result.kept.assign(self->kept_for.begin(), self->kept_for.end());
    std::sort(self->result.kept.begin(), self->result.kept.end());
    self->result.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(self->clock.now() - self->started);
    auto callback = std::move(self->done);
    self->done = nullptr;
    callback(self->result);
  };
  if (keeps_in_flight == 0)
    answer();
  else
    after_keeps = std::move(answer);
}

}  // namespace herald::push
