#include "push/delivery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "codec/raw_json.hpp"
#include "metrics/metrics.hpp"
#include "net/clock.hpp"
#include "net/fan_in.hpp"
#include "push/clock.hpp"
#include "push/in_flight_pushes.hpp"
#include "push/redelivery.hpp"
#include "push/user_data.hpp"
#include "push/users.hpp"
#include "socketio/recovery.hpp"

namespace herald::push {
namespace {

using socketio::Json;
using socketio::Socket;
// The receipts of one push, kept on the loop that started it: every report comes there.
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
  bool silent_nodes_checked = false;
  Presence* presence = nullptr;
  RoomDirectory* directory = nullptr;
  socketio::Namespace* nsp = nullptr;
  size_t origin = 0;
  size_t silent_node_users_kept = 0;

  void on_reached(const std::vector<socketio::SocketInfo>& sockets) {
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

  void on_ack(const socketio::SocketInfo& socket) {
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
        if (auto kept = kept_for.find(uid); kept != kept_for.end()) {
          redelivery->acked_in_time(*kept, kept_message->msg_id);
          kept_for.erase(kept);
        }
      }
    }
    check_complete();
  }

  // Kept for `uid` until acked: it is not here, or its socket dropped before acking. With
  // `away`, the user was not seen: it may be logging in right now, after the push passed its node
  // and before the store had the push, so its sockets are told once the store has it.
  // The entry of a user reached, made on first sight (the key copied once).
  Reach& reach_of(std::string_view uid) {
    if (auto found = reached_users.find(uid); found != reached_users.end()) return found->second;
    return reached_users.emplace(std::string(uid), Reach{}).first->second;
  }

  void keep(const std::string& uid, bool away = false) {
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

  void kept_one() {
    if (--keeps_in_flight > 0) return;
    if (!kept_away.empty()) redelivery->announce(std::exchange(kept_away, {}));
    if (!after_keeps) return;
    auto answer = std::move(after_keeps);
    after_keeps = nullptr;
    answer();
  }

  // A reached socket closed before acking: the push is kept for its user, and a user whose every
  // socket closed is not waited for (the answer comes without waiting out the timeout).
  void on_dropped(const socketio::SocketInfo& socket) {
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

  void closed_one(Reach& user) {
    if (--user.open == 0 && !user.gone && !user.acked) {
      user.gone = true;
      ++users_gone;
    }
  }

  // The other nodes answered whether they kept the push for their dropped users. After the
  // answer, the users of a node that counted but did not say so are kept now.
  void on_dropped_keeps_confirmed(std::vector<std::string> nodes) {
    confirmed_nodes = std::move(nodes);
    confirmations_known = true;
    if (!silent_nodes_checked) return;  // finish() checks with them
    if (answered_nodes().size() < counted_nodes.size()) keep_for_uncounted_nodes();
  }

  // The nodes that counted the push and, once known, also kept it for their dropped users.
  std::vector<std::string> answered_nodes() const {
    if (!confirmations_known) return counted_nodes;
    std::vector<std::string> answered;
    for (const auto& node : counted_nodes)
      if (std::find(confirmed_nodes.begin(), confirmed_nodes.end(), node) != confirmed_nodes.end())
        answered.push_back(node);
    return answered;
  }

  // Counted as one keep in flight until every user it finds is kept (or found not targeted).
  void keep_for_uncounted_nodes() {
    ++keeps_in_flight;
    presence->users_on_nodes_except(answered_nodes(), [self = shared_from_this()](std::vector<std::string> users) {
      spdlog::debug("push: {} kept for {} users of nodes that did not answer", self->kept_message->msg_id,
                    users.size());
      self->nsp->sockets().post_to_loop(self->origin, [self, users = std::move(users)] { self->keep_targeted(users); });
    });
  }

  void keep_targeted(const std::vector<std::string>& users) {
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

  void keep_for_silent_node_user(const std::string& uid) {
    auto& metrics = metrics::global();
    if (silent_node_users_kept++ == 0) metrics.pushes_kept_for_silent_nodes.fetch_add(1, std::memory_order_relaxed);
    metrics.pushes_kept_for_silent_node_users.fetch_add(1, std::memory_order_relaxed);
    keep(uid, true);
  }

  void on_remote_nodes(size_t nodes, bool reachable) {
    loops_pending += nodes;
    if (!reachable) result.cluster_unreachable = true;
    remote_known = true;
    check_complete();
  }

  void check_complete() {
    if (finished || loops_pending > 0 || !remote_known) return;
    if (users_acked + users_gone >= reached_users.size() && anonymous_acked >= anonymous_reached)
      finish(users_gone == 0);
  }

  void finish(bool complete) {
    if (finished) return;
    finished = true;
    if (timer) timer->cancel();
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
};

}  // namespace

Delivery::Delivery(socketio::Namespace& nsp, const Config& config, Redelivery& redelivery)
    : nsp_(nsp),
      config_(config),
      redelivery_(redelivery),
      in_flight_(std::make_unique<InFlightPushes>(
          nsp.sockets().loop_count(), [this](const std::string& uid, const std::vector<PendingMessage>& messages) {
            keep_and_announce(uid, messages);
          })) {}

Delivery::~Delivery() {
  if (watching()) nsp_.cluster_side().recovery()->set_watch(nullptr);
}

bool Delivery::watching() const {
  return nsp_.cluster_side().recovery() && nsp_.cluster_side().recovery()->watch() == in_flight_.get();
}

void Delivery::push(PushRequest request, std::function<void(PushResult&)> done) {
  auto& metrics = metrics::global();
  (request.kind == PushRequest::Kind::Users   ? metrics.pushes_users
   : request.kind == PushRequest::Kind::Rooms ? metrics.pushes_rooms
                                              : metrics.pushes_all)
      .fetch_add(1, std::memory_order_relaxed);
  socketio::Target target;
  if (request.kind != PushRequest::Kind::All) target.rooms = request.targets;
  // Only logged-in sockets get pushes (the seed sent junk events to anonymous ones). The flag
  // carries the same rule to the other Herald nodes of a cluster.
  target.flags = Json{{"heraldFilter", request.kind == PushRequest::Kind::Users ? "users" : "loggedIn"}};
  target.filter = push_filter(target.flags, target.rooms);
  Json args = Json::array({request.msg_id, std::move(request.message)});
  auto broadcast = socketio::Broadcast(nsp_, std::move(target));

  if (!request.ack) {
    broadcast.emit(request.event, std::move(args));
    PushResult result;
    result.complete = true;
    result.cluster_unreachable = nsp_.cluster_side().adapter() && !nsp_.cluster_side().adapter()->reachable();
    return done(result);
  }

  auto& pool = nsp_.server().pool();
  auto receipt = std::make_shared<Receipt>(pool.clock());
  receipt->redelivery = &redelivery_;
  auto ttl = request.ttl.value_or(config_.message_ttl);
  if (redelivery_.enabled() && ttl.count() > 0) {
    auto now = std::chrono::system_clock::now();
    receipt->kept_message = PendingMessage{request.msg_id, request.event, args[1], now,
                                           now + std::chrono::duration_cast<std::chrono::system_clock::duration>(ttl)};
    // Users of a room or of "all" who are away now are known only by their dropped sessions.
    if (request.kind != PushRequest::Kind::Users) {
      for (const auto& uid : dropped_users(request, *receipt->kept_message)) receipt->keep(uid, true);
      keep_for_dropped_elsewhere(request, *receipt->kept_message, [receipt](std::vector<std::string> nodes) {
        receipt->on_dropped_keeps_confirmed(std::move(nodes));
      });
    }
  }
  receipt->kind = request.kind;
  receipt->targets = std::move(request.targets);
  receipt->presence = presence_;
  receipt->directory = directory_;
  receipt->nsp = &nsp_;
  receipt->origin = socketio::LoopSockets::origin_loop();
  receipt->loops_pending = nsp_.sockets().loop_count();
  receipt->done = std::move(done);
  // The alarm holds the receipt until it rings or finish() cancels it.
  receipt->timer = std::make_unique<net::Alarm>(pool.loop(receipt->origin), pool.clock());
  receipt->timer->set(receipt->started + request.timeout, [receipt] { receipt->finish(false); });
  socketio::BroadcastAckHandlers handlers{
      [receipt](const std::vector<socketio::SocketInfo>& reached) { receipt->on_reached(reached); },
      [receipt](const socketio::SocketInfo& socket, Json&) { receipt->on_ack(socket); },
      [receipt](const socketio::SocketInfo& socket) { receipt->on_dropped(socket); },
      [receipt](size_t nodes, bool reachable) { receipt->on_remote_nodes(nodes, reachable); },
      [receipt](const std::string& node) { receipt->counted_nodes.push_back(node); }};
  broadcast.emit_with_ack(request.event, std::move(args), request.timeout, std::move(handlers));
}

namespace {
constexpr const char* kKeepDropped = "herald:keepDropped";
}  // namespace

void Delivery::keep_for_dropped_elsewhere(const PushRequest& request, const PendingMessage& message,
                                          std::function<void(std::vector<std::string>)> confirmed) {
  if (!nsp_.cluster_side().adapter()) return;
  Json push{{"msgId", message.msg_id},
            {"event", message.event},
            {"message", message.message},
            {"accepted", epoch_us(message.accepted)},
            {"expires", epoch_us(message.expires)},
            {"all", request.kind == PushRequest::Kind::All},
            {"timeout", request.timeout.count()},
            {"rooms", request.targets}};
  // The message as the backend wrote it, kept so by the other nodes too.
  if (codec::is_raw_json(message.message)) push["messageText"] = codec::raw_json_text(message.message);
  // Each Herald node answers once its keeps are stored, naming itself; a Node server never
  // answers, which only makes the wait end at the push's timeout.
  nsp_.server_side_emit_with_ack(Json::array({kKeepDropped, std::move(push)}), request.timeout,
                                 [confirmed = std::move(confirmed)](std::vector<Json>& replies, bool) {
                                   std::vector<std::string> nodes;
                                   for (const auto& reply : replies)
                                     if (reply.is_object())
                                       if (auto node = reply.find("node"); node != reply.end() && node->is_string())
                                         nodes.push_back(node->get<std::string>());
                                   confirmed(std::move(nodes));
                                 });
}

void Delivery::attach() {
  if (socketio::Recovery* recovery = nsp_.cluster_side().recovery(); recovery && redelivery_.enabled())
    recovery->set_watch(in_flight_.get());
  nsp_.on_server_side(kKeepDropped, [this](Json& args, const socketio::Namespace::ServerSideReply& reply) {
    // The origin learns that this node kept the push for its dropped users (or had none to keep)
    // only once the store has every keep: a node that dies first is not named, and the origin
    // keeps for its users instead.
    auto kept_here = [reply, node = presence_ ? presence_->node() : std::string()] {
      if (reply) reply(node.empty() ? Json(nullptr) : Json{{"node", node}});
    };
    if (args.empty() || !args[0].is_object() || !redelivery_.enabled()) return kept_here();
    const Json& push = args[0];
    if (!push.value("msgId", Json()).is_string() || !push.value("event", Json()).is_string() ||
        !push.value("expires", Json()).is_number_integer() || !push.value("accepted", Json()).is_number_integer())
      return kept_here();
    PushRequest request;
    request.kind = push.value("all", false) ? PushRequest::Kind::All : PushRequest::Kind::Rooms;
    if (auto rooms = push.find("rooms"); rooms != push.end() && rooms->is_array())
      for (const auto& room : *rooms)
        if (room.is_string()) request.targets.push_back(room.get<std::string>());
    PendingMessage message{push["msgId"].get<std::string>(), push["event"].get<std::string>(),
                           push.value("message", Json()), from_epoch_us(push["accepted"].get<int64_t>()),
                           from_epoch_us(push["expires"].get<int64_t>())};
    if (auto text = push.find("messageText"); text != push.end() && text->is_string())
      if (auto raw = codec::raw_json(text->get_ref<const std::string&>())) message.message = std::move(*raw);
    if (auto timeout = push.find("timeout"); timeout != push.end() && timeout->is_number_integer())
      request.timeout = std::chrono::milliseconds(timeout->get<int64_t>());
    // The push itself comes next: a session that drops or comes back while the loops send it is
    // seen by InFlightPushes.
    keep_for_dropped_here(request, message, kept_here);
  });
}

void Delivery::keep_for_dropped_here(const PushRequest& request, const PendingMessage& message,
                                     const std::function<void()>& kept_here) {
  // As the origin does (Receipt::keep with `away`): once stored, the users' sockets are told.
  auto users = dropped_users(request, message);
  spdlog::debug("push: {} kept for {} users dropped here", message.msg_id, users.size());
  if (users.empty()) return kept_here();
  size_t count = users.size();
  auto kept = net::FanIn<std::vector<std::string>>::expect(
      count,
      [this, kept_here](std::vector<std::string>& all) {
        redelivery_.announce(all);
        kept_here();
      },
      std::move(users));
  for (const auto& uid : kept->result()) redelivery_.keep(uid, message, [kept] { kept->arrived(); });
}

void Delivery::keep_and_announce(const std::string& uid, const std::vector<PendingMessage>& messages) {
  auto kept = net::FanIn<int>::expect(
      messages.size(), [this, uid](int&) { redelivery_.announce({uid}); }, 0);
  for (const auto& message : messages) redelivery_.keep(uid, message, [kept] { kept->arrived(); });
}

std::vector<std::string> Delivery::dropped_users(const PushRequest& request, const PendingMessage& message) {
  std::vector<std::string> users;
  const socketio::Recovery* recovery = nsp_.cluster_side().recovery();
  if (!recovery) return users;
  // Watched from before the read, so that a session that moves meanwhile is seen there.
  uint64_t in_flight = watching() ? in_flight_->arrived(request, message) : 0;
  std::unordered_set<std::string_view> rooms(request.targets.begin(), request.targets.end());
  UidSet seen;
  uint64_t takes = recovery->for_each_session([&](const socketio::RecoveredSession& session) {
    std::string_view uid = user_of(session);
    if (uid.empty() || seen.contains(uid)) return;
    bool targeted = request.kind == PushRequest::Kind::All ||
                    std::any_of(session.rooms.begin(), session.rooms.end(),
                                [&](const std::string& room) { return rooms.contains(room); });
    if (targeted) {
      users.push_back(*seen.emplace(uid).first);
    }
  });
  if (in_flight != 0) in_flight_->dropped_sessions_read(in_flight, takes);
  return users;
}

}  // namespace herald::push
