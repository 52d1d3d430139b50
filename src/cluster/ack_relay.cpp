#include "cluster/ack_relay.hpp"

#include <algorithm>
#include <utility>

#include "push/user_data.hpp"

namespace herald::cluster {

using socketio::Json;
using socketio::SocketInfo;

// ---- AckRelay ----

AckRelay::AckRelay(net::LoopPool& pool, size_t redis_loop, std::string request_id, bool batch_acks, size_t loops,
                   Answer answer)
    : pool_(pool),
      redis_loop_(redis_loop),
      request_id_(std::move(request_id)),
      batch_acks_(batch_acks),
      answer_(std::move(answer)),
      loops_left_(loops) {
  reach_.request_id = request_id_;
  batch_.request_id = request_id_;
  batch_.batch = true;
}

socketio::BroadcastAckHandlers AckRelay::handlers() {
  auto self = shared_from_this();
  socketio::BroadcastAckHandlers handlers;
  handlers.on_reached = [self](const std::vector<SocketInfo>& sockets) { self->reached(sockets); };
  handlers.on_ack = [self](const SocketInfo& socket, Json& args) { self->acked(socket, args); };
  // Only a Herald requester keeps the push for a user whose socket here closed before acking.
  if (batch_acks_) handlers.on_dropped = [self](const SocketInfo& socket) { self->dropped(socket); };
  return handlers;
}

void AckRelay::reached(const std::vector<SocketInfo>& sockets) {
  // Every loop reports its reach; the requester expects one count per node.
  reach_.count += sockets.size();
  for (const auto& socket : sockets)
    if (std::string_view uid = push::user_of(socket); !uid.empty()) reach_.users.emplace_back(uid);
  if (--loops_left_ > 0) return;
  answer_(reach_);
  for (auto& socket : std::exchange(dropped_before_count_, {})) dropped(socket);
}

void AckRelay::acked(const SocketInfo& socket, Json& args) {
  Json reply = args.is_array() && !args.empty() ? std::move(args[0]) : Json();
  SocketInfo who{socket.id, socket.attached, nullptr};
  if (!batch_acks_) {
    answer_(msg::Acks{request_id_, {{std::move(who), std::move(reply)}}, false});
    return;
  }
  batch_.acks.emplace_back(std::move(who), std::move(reply));
  if (flush_posted_) return;
  flush_posted_ = true;
  pool_.post(redis_loop_, [self = shared_from_this()] { self->flush_acks(); });
}

void AckRelay::flush_acks() {
  flush_posted_ = false;
  msg::Acks batch{request_id_, std::exchange(batch_.acks, {}), true};
  answer_(std::move(batch));
}

void AckRelay::dropped(const SocketInfo& socket) {
  if (loops_left_ > 0) {
    dropped_before_count_.push_back(SocketInfo{socket.id, socket.attached, nullptr});
    return;
  }
  answer_(msg::Dropped{request_id_, SocketInfo{socket.id, socket.attached, nullptr}});
}

// ---- AckWaiters ----

void AckWaiters::add(const std::string& request_id, std::shared_ptr<socketio::BroadcastAckHandlers> handlers,
                     size_t origin, net::Clock::time_point expires) {
  drop_expired(pool_.clock().now());
  waiters_[request_id] = Waiter{std::move(handlers), origin, expires};
  expiries_.emplace(expires, request_id);
}

void AckWaiters::drop_expired(net::Clock::time_point now) {
  while (!expiries_.empty() && expiries_.top().first <= now) {
    // An id added again since has a later expiry of its own, and stays.
    auto found = waiters_.find(expiries_.top().second);
    if (found != waiters_.end() && found->second.expires <= now) waiters_.erase(found);
    expiries_.pop();
  }
}

const AckWaiters::Waiter* AckWaiters::find(const std::string& request_id) const {
  auto found = waiters_.find(request_id);
  return found == waiters_.end() ? nullptr : &found->second;
}

bool AckWaiters::answer(Body& body) {
  if (auto* count = std::get_if<msg::ClientCount>(&body)) {
    const Waiter* waiter = find(count->request_id);
    if (!waiter) return false;
    std::vector<SocketInfo> reached;
    reached.reserve(std::max(count->users.size(), count->count));
    for (const auto& uid : count->users) reached.push_back(SocketInfo{"", push::UserData::make(uid, 0), nullptr});
    // A Node server says only how many it reached.
    while (reached.size() < count->count) reached.push_back(SocketInfo{"", nullptr, nullptr});
    pool_.post(waiter->origin,
               [handlers = waiter->handlers, reached = std::move(reached), node = std::move(count->node)] {
                 if (handlers->on_node_counted && !node.empty()) handlers->on_node_counted(node);
                 if (handlers->on_reached) handlers->on_reached(reached);
               });
    return true;
  }
  if (auto* acks = std::get_if<msg::Acks>(&body)) {
    const Waiter* waiter = find(acks->request_id);
    if (!waiter) return false;
    pool_.post(waiter->origin, [handlers = waiter->handlers, acks = std::move(acks->acks)]() mutable {
      for (auto& [socket, reply] : acks) {
        Json args = Json::array({std::move(reply)});
        if (handlers->on_ack) handlers->on_ack(socket, args);
      }
    });
    return true;
  }
  if (auto* dropped = std::get_if<msg::Dropped>(&body)) {
    const Waiter* waiter = find(dropped->request_id);
    if (!waiter) return false;
    pool_.post(waiter->origin, [handlers = waiter->handlers, socket = std::move(dropped->socket)] {
      if (handlers->on_dropped) handlers->on_dropped(socket);
    });
    return true;
  }
  return false;
}

}  // namespace herald::cluster
