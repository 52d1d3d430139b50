#include "push/service.hpp"

#include <unordered_set>

#include "metrics/metrics.hpp"
#include "net/fan_in.hpp"
#include "push/user_data.hpp"

namespace herald::push {

using socketio::Json;
using socketio::Socket;

Service::Service(socketio::Server& io, Config config, std::unique_ptr<RoomDirectory> directory,
                 std::unique_ptr<PendingStore> pending)
    : io_(io),
      config_(std::move(config)),
      nsp_(io.of(config_.nsp)),
      directory_(directory ? std::move(directory) : std::make_unique<MemoryRoomDirectory>()),
      pending_(pending ? std::move(pending)
                       : std::make_unique<MemoryPendingStore>(
                             PendingLimits{config_.max_pending_per_user, config_.max_pending_bytes})),
      redelivery_(nsp_, config_, webhooks_, *pending_),
      users_(nsp_, config_, *directory_, webhooks_, redelivery_),
      delivery_(nsp_, config_, redelivery_) {
  users_.attach();
  redelivery_.attach();
  delivery_.attach();
  nsp_.cluster_side().set_filter_factory(push_filter);
  nsp_.on_server_side("herald:changeRoom", [this](Json& args, socketio::Namespace::ServerSideReply reply) {
    if (args.empty() || !args[0].is_object()) {
      if (reply) reply(nullptr);
      return;
    }
    const Json& change = args[0];
    auto list = [&](const char* key) {
      std::vector<std::string> items;
      if (auto found = change.find(key); found != change.end() && found->is_array())
        for (const auto& item : *found)
          if (item.is_string()) items.push_back(item.get<std::string>());
      return items;
    };
    auto users = list("users");
    auto joins = list("joins");
    auto leaves = list("leaves");
    size_t rooms = joins.size() + leaves.size();
    if (rooms > 0 && users.size() > config_.max_room_changes / rooms) {
      // Another node's API enforces the cap; a change past it is not from a Herald node.
      metrics::global().rejected_cluster_messages.fetch_add(1, std::memory_order_relaxed);
      if (reply) reply(nullptr);
      return;
    }
    change_room_local(users, std::move(joins), std::move(leaves), [reply = std::move(reply)](ChangeRoomResult& moved) {
      if (reply) reply(Json{{"socketsMoved", moved.sockets}});
    });
  });
}

void Service::push_offline(const std::string& uid, std::vector<OfflineMessage> messages,
                           std::chrono::milliseconds timeout, std::function<void(OfflineResult&)> done) {
  // Every message's push answers on this loop; the result lists the acked ones in the order given.
  struct Pushed {
    OfflineResult result;
    std::vector<std::string> order;
    std::unordered_set<std::string> acked;
  };
  Pushed initial;
  for (const auto& message : messages) initial.order.push_back(message.msg_id);
  auto pushed = net::FanIn<Pushed>::expect(
      messages.size(),
      [done = std::move(done)](Pushed& all) {
        for (const auto& id : all.order)
          (all.acked.contains(id) ? all.result.acked : all.result.not_acked).push_back(id);
        done(all.result);
      },
      std::move(initial));
  for (auto& message : messages) {
    PushRequest request;
    request.kind = PushRequest::Kind::Users;
    request.targets = {uid};
    request.msg_id = message.msg_id;
    request.message = std::move(message.message);
    request.timeout = timeout;
    delivery_.push(std::move(request), [pushed, msg_id = message.msg_id](PushResult& result) {
      if (result.users_reached > 0) pushed->result().result.online = true;
      if (!result.acked.empty()) pushed->result().acked.insert(msg_id);
      pushed->arrived();
    });
  }
}

void Service::change_room(const std::vector<std::string>& uids, std::vector<std::string> joins,
                          std::vector<std::string> leaves, bool count_other_nodes,
                          std::function<void(ChangeRoomResult&)> done) {
  for (const auto& uid : uids) directory_->change_rooms(uid, joins, leaves);
  Json event = Json::array({"herald:changeRoom", Json{{"users", uids}, {"joins", joins}, {"leaves", leaves}}});
  if (!count_other_nodes) {
    nsp_.server_side_emit(event);
    return change_room_local(uids, std::move(joins), std::move(leaves), std::move(done));
  }
  // Both parts answer on this loop: the sockets moved here, and those the other nodes moved.
  auto tally = net::FanIn<ChangeRoomResult>::expect(2, std::move(done));
  auto part_done = [tally](size_t sockets, bool complete) {
    tally->result().sockets += sockets;
    tally->result().complete = tally->result().complete && complete;
    tally->arrived();
  };
  nsp_.server_side_emit_with_ack(event, config_.cluster_timeout,
                                 [part_done](std::vector<Json>& replies, bool complete) {
                                   size_t sockets = 0;
                                   for (const auto& reply : replies)
                                     if (reply.is_object()) sockets += reply.value("socketsMoved", size_t{0});
                                   part_done(sockets, complete);
                                 });
  change_room_local(uids, std::move(joins), std::move(leaves),
                    [part_done](ChangeRoomResult& moved) { part_done(moved.sockets, true); });
}

void Service::change_room_local(const std::vector<std::string>& uids, std::vector<std::string> joins,
                                std::vector<std::string> leaves, std::function<void(ChangeRoomResult&)> done) {
  auto users = std::make_shared<UidSet>(uids.begin(), uids.end());
  socketio::Target target{uids, {}, [users](const Socket& socket) { return users->contains(user_of(socket)); }};
  Json notice = Json::array({"-2", Json{{"joins", joins}, {"leaves", leaves}}});
  nsp_.sockets().collect<size_t>(
      target,
      [joins = std::move(joins), leaves = std::move(leaves), notice](const std::vector<Socket*>& sockets) {
        for (Socket* socket : sockets) {
          socket->leave(leaves);
          socket->join(joins);
          socket->emit("changeRoom", notice);
        }
        return sockets.size();
      },
      [done = std::move(done)](std::vector<size_t>& counts) {
        ChangeRoomResult result;
        for (size_t count : counts) result.sockets += count;
        done(result);
      });
}

void Service::stats(std::function<void(Stats&)> done) {
  size_t connections = io_.engine().live_sessions();
  nsp_.sockets().collect<Stats>(
      socketio::Target{},
      [](const std::vector<Socket*>& sockets) {
        Stats local;
        local.sockets = sockets.size();
        for (Socket* socket : sockets)
          if (!user_of(*socket).empty()) ++local.logged_in;
        return local;
      },
      [connections, done = std::move(done)](std::vector<Stats>& parts) {
        Stats total;
        total.connections = connections;
        for (const auto& part : parts) {
          total.sockets += part.sockets;
          total.logged_in += part.logged_in;
        }
        done(total);
      });
}

}  // namespace herald::push
