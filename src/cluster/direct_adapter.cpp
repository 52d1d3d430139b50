#include "cluster/direct_adapter.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <unordered_set>

#include "cluster/direct_metrics.hpp"
#include "codec/raw_json.hpp"
#include "push/user_data.hpp"

namespace herald::cluster {

using socketio::Json;
using socketio::SocketInfo;
using SteadyClock = std::chrono::steady_clock;

// One push with acks on its way to other nodes, on the loop it started on.
struct DirectAdapter::Attempt {
  std::shared_ptr<socketio::BroadcastAckHandlers> handlers;
  socketio::Packet packet;
  std::vector<std::string> users;
  SteadyClock::time_point deadline;
  std::chrono::milliseconds timeout{0};
  std::string data;                       // packet.data as JSON text, made once for every node
  size_t nodes = 0;                       // nodes asked directly: each reports its reach once
  size_t waiting = 0;                     // of those, not answered yet (plus one while they are being asked)
  std::vector<std::string> asked;         // users sent to other nodes (or meant for a node not reachable)
  std::unordered_set<std::string> found;  // users whose sockets the nodes reported reached
};

// A push a node was asked for and has not finished answering.
struct DirectAdapter::Outstanding {
  std::shared_ptr<Attempt> attempt;
  bool reached = false;
  // Sockets reached and not acked: id -> user, which their acks and drops share.
  std::unordered_map<std::string, socketio::SocketDataPtr> open;
  SteadyClock::time_point expires;
};

// This loop's link to one node.
struct DirectAdapter::Peer {
  std::string node;
  std::shared_ptr<DirectLink> link;
  std::unordered_map<uint64_t, Outstanding> outstanding;
  uint64_t next_request = 1;
  SteadyClock::time_point down_until{};
  std::unique_ptr<boost::asio::steady_timer> sweeper;
  bool sweeping = false;
};

DirectAdapter::DirectAdapter(net::LoopPool& pool, socketio::Namespace& nsp,
                             std::shared_ptr<socketio::RemoteAdapter> fallback, std::shared_ptr<DirectLocator> locator,
                             const std::string& token)
    : pool_(pool), nsp_(nsp), fallback_(std::move(fallback)), locator_(std::move(locator)), peers_(pool.size()) {
  upgrade_request_tail_ = "\r\nConnection: Upgrade\r\nUpgrade: herald-direct\r\n";
  if (!token.empty()) upgrade_request_tail_ += "Authorization: Bearer " + token + "\r\n";
  upgrade_request_tail_ += "\r\n";
}

bool DirectAdapter::users_push(const socketio::Target& target) {
  if (target.rooms.empty() || !target.flags.is_object()) return false;
  auto kind = target.flags.find("heraldFilter");
  return kind != target.flags.end() && *kind == "users";
}

bool DirectAdapter::placeable(const socketio::Target& target) const {
  // Without Redis nothing is placed for sure: the adapter answers for this node's users at once.
  return fallback_->reachable() && locator_->herald_only() && target.rooms.size() <= kMaxUsers &&
         target.except.empty() && users_push(target);
}

void DirectAdapter::broadcast_with_ack(const socketio::Packet& packet, const socketio::Target& target,
                                       std::chrono::milliseconds timeout,
                                       std::shared_ptr<socketio::BroadcastAckHandlers> handlers) {
  if (!placeable(target)) {
    // A push to users kept off the direct path (the cluster not known to be Herald nodes only,
    // Redis away, too many users) is counted as one taken through the adapter.
    if (users_push(target)) direct_metrics().fallback.fetch_add(1, std::memory_order_relaxed);
    return fallback_->broadcast_with_ack(packet, target, timeout, std::move(handlers));
  }
  size_t origin = socketio::LoopSockets::origin_loop();
  auto attempt = std::make_shared<Attempt>();
  attempt->handlers = std::move(handlers);
  attempt->packet = packet;
  attempt->users = target.rooms;
  attempt->timeout = timeout;
  attempt->deadline = SteadyClock::now() + timeout;
  locator_->locate(attempt->users, origin, [self = shared_from_this(), attempt, origin](DirectLocator::Located& where) {
    if (!where.sure) return self->fall_back(attempt, attempt->users, 0);
    self->send_direct(origin, attempt, where);
  });
}

void DirectAdapter::send_direct(size_t loop, const std::shared_ptr<Attempt>& attempt, DirectLocator::Located& where) {
  auto& metrics = direct_metrics();
  attempt->waiting = 1;  // held while the nodes are asked, so no answer settles it before the last is
  for (auto& node : where.others) {
    attempt->asked.insert(attempt->asked.end(), node.users.begin(), node.users.end());
    auto target = peer(loop, node);
    if (!target) {
      metrics.failed.fetch_add(1, std::memory_order_relaxed);
      continue;  // not reachable lately: its users take the adapter path
    }
    uint64_t request = target->next_request++;
    Outstanding& outstanding = target->outstanding[request];
    outstanding.attempt = attempt;
    outstanding.expires = attempt->deadline + std::chrono::seconds(1);
    ++attempt->nodes;
    ++attempt->waiting;
    if (attempt->data.empty()) attempt->data = codec::to_json_text(attempt->packet.data);  // raw text as sent
    metrics.sent.fetch_add(1, std::memory_order_relaxed);
    auto link = target->link;  // the send may close it (a stuck node), which resets target->link
    link->send(direct::Push{request, static_cast<uint32_t>(attempt->timeout.count()), nsp_.name(),
                            std::move(node.users), attempt->data});
    if (!target->sweeping) sweep(loop, target->node);
  }
  if (--attempt->waiting == 0) settle(attempt);
}

void DirectAdapter::settle(const std::shared_ptr<Attempt>& attempt) {
  std::vector<std::string> missing;
  std::unordered_set<std::string_view> seen;
  for (const auto& uid : attempt->asked)
    if (!attempt->found.contains(uid) && seen.insert(uid).second) missing.push_back(uid);
  if (missing.empty()) {
    if (attempt->handlers->on_remote_nodes) attempt->handlers->on_remote_nodes(attempt->nodes, true);
    return;
  }
  fall_back(attempt, std::move(missing), attempt->nodes);
}

void DirectAdapter::fall_back(const std::shared_ptr<Attempt>& attempt, std::vector<std::string> users, size_t already) {
  direct_metrics().fallback.fetch_add(1, std::memory_order_relaxed);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(attempt->deadline - SteadyClock::now());
  socketio::Target target{std::move(users), {}, {}, Json{{"heraldFilter", "users"}}};
  auto handlers = std::make_shared<socketio::BroadcastAckHandlers>(*attempt->handlers);
  handlers->on_remote_nodes = [original = attempt->handlers, already](size_t nodes, bool reachable) {
    if (original->on_remote_nodes) original->on_remote_nodes(already + nodes, reachable);
  };
  fallback_->broadcast_with_ack(attempt->packet, target, std::max(left, std::chrono::milliseconds(1)),
                                std::move(handlers));
}

std::shared_ptr<DirectAdapter::Peer> DirectAdapter::peer(size_t loop, const DirectLocator::Node& node) {
  auto& slot = peers_[loop][node.uid];
  if (!slot) {
    slot = std::make_shared<Peer>();
    slot->node = node.uid;
  }
  if (slot->link && !slot->link->closed()) return slot;
  if (SteadyClock::now() < slot->down_until) return nullptr;
  std::weak_ptr<DirectAdapter> weak = weak_from_this();
  auto link = std::make_shared<DirectLink>(
      pool_.loop(loop),
      [weak, loop, uid = node.uid](direct::Frame& frame) {
        auto self = weak.lock();
        if (!self) return false;
        auto found = self->peers_[loop].find(uid);
        return found != self->peers_[loop].end() && self->on_frame(*found->second, frame);
      },
      [weak, loop, uid = node.uid] {
        if (auto self = weak.lock()) self->on_link_closed(loop, uid);
      });
  slot->link = link;
  std::string host = node.host.find(':') != std::string::npos ? "[" + node.host + "]" : node.host;
  link->connect(
      node.host, node.port,
      "GET /herald/direct HTTP/1.1\r\nHost: " + host + ":" + std::to_string(node.port) + upgrade_request_tail_);
  return slot;
}

bool DirectAdapter::on_frame(Peer& peer, direct::Frame& frame) {
  if (std::holds_alternative<direct::Push>(frame)) return false;  // the requesting end takes no pushes
  uint64_t request = std::visit([](const auto& body) { return body.request; }, frame);
  auto found = peer.outstanding.find(request);
  if (found == peer.outstanding.end()) return true;  // expired: its receipt is done with
  Outstanding& outstanding = found->second;
  std::shared_ptr<Attempt> attempt = outstanding.attempt;
  auto& handlers = *attempt->handlers;
  // An ack or a drop ends a socket's entry in `open` and shares the user it kept (made from the
  // frame when there is no entry).
  auto take_open = [&outstanding](direct::SocketRef& ref) {
    SocketInfo socket{std::move(ref.id), nullptr, nullptr};
    if (auto entry = outstanding.open.find(socket.id); entry != outstanding.open.end()) {
      socket.attached = std::move(entry->second);
      outstanding.open.erase(entry);
    } else {
      socket.attached = push::UserData::make(ref.user, 0);
    }
    return socket;
  };
  if (auto* reached = std::get_if<direct::Reached>(&frame)) {
    if (outstanding.reached) return false;
    outstanding.reached = true;
    std::vector<SocketInfo> sockets;
    sockets.reserve(reached->sockets.size());
    for (auto& socket : reached->sockets) {
      socketio::SocketDataPtr user = push::UserData::make(socket.user, 0);
      attempt->found.insert(std::move(socket.user));
      outstanding.open.emplace(socket.id, user);
      sockets.push_back(SocketInfo{std::move(socket.id), std::move(user), nullptr});
    }
    if (outstanding.open.empty()) peer.outstanding.erase(found);
    if (handlers.on_reached) handlers.on_reached(sockets);
    if (--attempt->waiting == 0) settle(attempt);
    return true;
  }
  if (auto* acks = std::get_if<direct::Acks>(&frame)) {
    std::vector<SocketInfo> acked;
    acked.reserve(acks->acks.size());
    for (auto& ack : acks->acks) acked.push_back(take_open(ack.socket));
    if (outstanding.reached && outstanding.open.empty()) peer.outstanding.erase(found);
    for (size_t i = 0; i < acked.size(); ++i) {
      const std::string& text = acks->acks[i].reply;
      Json reply = text == "null" ? Json() : Json::parse(text, nullptr, false);
      if (reply.is_discarded()) reply = nullptr;
      Json args = Json::array({std::move(reply)});
      if (handlers.on_ack) handlers.on_ack(acked[i], args);
    }
    return true;
  }
  auto& dropped = std::get<direct::Dropped>(frame);
  SocketInfo socket = take_open(dropped.socket);
  if (outstanding.reached && outstanding.open.empty()) peer.outstanding.erase(found);
  if (handlers.on_dropped) handlers.on_dropped(socket);
  return true;
}

void DirectAdapter::on_link_closed(size_t loop, const std::string& node) {
  auto found = peers_[loop].find(node);
  if (found == peers_[loop].end()) return;
  auto target = found->second;
  target->link.reset();
  target->down_until = SteadyClock::now() + kRetryAfter;
  auto outstanding = std::exchange(target->outstanding, {});
  if (!outstanding.empty())
    spdlog::info("direct link to node {} closed with {} pushes in flight", node, outstanding.size());
  for (auto& [request, push] : outstanding) {
    const auto& attempt = push.attempt;
    auto& handlers = *attempt->handlers;
    if (!push.reached) {
      // No answer: as if it reached nothing there; its users take the adapter path.
      direct_metrics().failed.fetch_add(1, std::memory_order_relaxed);
      if (handlers.on_reached) handlers.on_reached({});
      if (--attempt->waiting == 0) settle(attempt);
      continue;
    }
    // Reached, not acked, and the node is gone: kept for those users as for a dropped socket.
    for (auto& [id, user] : push.open) {
      SocketInfo socket{id, user, nullptr};
      if (handlers.on_dropped) handlers.on_dropped(socket);
    }
  }
}

void DirectAdapter::sweep(size_t loop, const std::string& node) {
  auto found = peers_[loop].find(node);
  if (found == peers_[loop].end()) return;
  Peer& target = *found->second;
  auto now = SteadyClock::now();
  std::erase_if(target.outstanding, [now](const auto& entry) { return entry.second.expires <= now; });
  target.sweeping = !target.outstanding.empty();
  if (!target.sweeping) return;
  if (!target.sweeper) target.sweeper = std::make_unique<boost::asio::steady_timer>(pool_.loop(loop));
  target.sweeper->expires_after(std::chrono::seconds(1));
  target.sweeper->async_wait([weak = weak_from_this(), loop, node](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->sweep(loop, node);
  });
}

}  // namespace herald::cluster
