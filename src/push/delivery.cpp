#include "push/delivery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "codec/raw_json.hpp"
#include "metrics/metrics.hpp"
#include "net/clock.hpp"
#include "net/fan_in.hpp"
#include "push/clock.hpp"
#include "push/in_flight_pushes.hpp"
#include "push/receipt.hpp"
#include "push/redelivery.hpp"
#include "push/user_data.hpp"
#include "push/users.hpp"
#include "socketio/recovery.hpp"

namespace herald::push {

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
      receipt->dropped_here = dropped_users(request, *receipt->kept_message);
      keep_for_dropped_elsewhere(request, *receipt->kept_message,
                                 [receipt](std::vector<std::string> nodes, std::vector<std::string> kept_users) {
                                   receipt->on_dropped_keeps_confirmed(std::move(nodes), std::move(kept_users));
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
                                          KeepsConfirmed confirmed) {
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
  // Each Herald node answers once its keeps are stored, naming itself and the users it kept the
  // push for; a Node server never answers, which only makes the wait end at the push's timeout.
  nsp_.server_side_emit_with_ack(Json::array({kKeepDropped, std::move(push)}), request.timeout,
                                 [confirmed = std::move(confirmed)](std::vector<Json>& replies, bool) {
                                   std::vector<std::string> nodes;
                                   std::vector<std::string> kept_users;
                                   for (const auto& reply : replies) {
                                     if (!reply.is_object()) continue;
                                     if (auto node = reply.find("node"); node != reply.end() && node->is_string())
                                       nodes.push_back(node->get<std::string>());
                                     if (auto kept = reply.find("kept"); kept != reply.end() && kept->is_array())
                                       for (const auto& uid : *kept)
                                         if (uid.is_string()) kept_users.push_back(uid.get<std::string>());
                                   }
                                   confirmed(std::move(nodes), std::move(kept_users));
                                 });
}

void Delivery::attach() {
  if (socketio::Recovery* recovery = nsp_.cluster_side().recovery(); recovery && redelivery_.enabled())
    recovery->set_watch(in_flight_.get());
  nsp_.on_server_side(kKeepDropped, [this](Json& args, const socketio::Namespace::ServerSideReply& reply) {
    // The origin learns that this node kept the push for its dropped users (or had none to keep)
    // only once the store has every keep: a node that dies first is not named, and the origin
    // keeps for its users instead. It also learns whom: those it reached live it takes out of the
    // store when they ack, and those it did not reach it tells (they may be logging in).
    auto kept_here = [reply, node = presence_ ? presence_->node() : std::string()](std::vector<std::string> users) {
      if (!reply) return;
      if (node.empty()) return reply(Json(nullptr));
      reply(Json{{"node", node}, {"kept", std::move(users)}});
    };
    if (args.empty() || !args[0].is_object() || !redelivery_.enabled()) return kept_here({});
    const Json& push = args[0];
    if (!push.value("msgId", Json()).is_string() || !push.value("event", Json()).is_string() ||
        !push.value("expires", Json()).is_number_integer() || !push.value("accepted", Json()).is_number_integer())
      return kept_here({});
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
                                     const std::function<void(std::vector<std::string>)>& kept_here) {
  // Once stored, the origin is told whom; it tells those the push did not reach live.
  auto users = dropped_users(request, message);
  spdlog::debug("push: {} kept for {} users dropped here", message.msg_id, users.size());
  if (users.empty()) return kept_here({});
  size_t count = users.size();
  auto kept = net::FanIn<std::vector<std::string>>::expect(
      count, [kept_here](std::vector<std::string>& all) { kept_here(std::move(all)); }, std::move(users));
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
