// Broadcast: a namespace's emits to many sockets (rooms, exceptions, a filter), on every loop
// and, through the adapter, on every node; with acks, the reach and the acks of every loop and
// node come back to the loop that emitted.
#include <algorithm>
#include <bit>
#include <memory>
#include <mutex>
#include <string_view>
#include <tuple>
#include <unordered_set>

#include "net/fan_in.hpp"
#include "net/loop_pool.hpp"
#include "socketio/namespace.hpp"
#include "socketio/recovery.hpp"
#include "socketio/server.hpp"
#include "socketio/socket.hpp"

namespace herald::socketio {

Broadcast& Broadcast::to(std::string room) {
  target_.rooms.push_back(std::move(room));
  return *this;
}

Broadcast& Broadcast::except(std::string room) {
  target_.except.push_back(std::move(room));
  return *this;
}

namespace {

Packet event_packet(const std::string& nsp, std::optional<uint64_t> id, std::string_view event, Json& args) {
  Packet packet{PacketType::Event, nsp, id, Json::array()};
  packet.data.push_back(event);
  for (auto& arg : args) packet.data.push_back(std::move(arg));
  return packet;
}

// The acknowledgements of one broadcast from the sockets of one loop, passed to the origin loop in
// batches: the first ack of a batch posts one task there, and later ones join it until it runs.
class LoopAcks : public AckSink, public std::enable_shared_from_this<LoopAcks> {
 public:
  LoopAcks(Namespace& nsp, size_t origin, std::shared_ptr<BroadcastAckHandlers> handlers,
           std::shared_ptr<const std::vector<SocketInfo>> reached)
      : nsp_(nsp), origin_(origin), handlers_(std::move(handlers)), reached_(std::move(reached)) {}

  void acked(uint32_t index, Json& args) override { add(Reply{index, std::move(args), false}); }
  void dropped(uint32_t index) override { add(Reply{index, Json(), true}); }

 private:
  struct Reply {
    uint32_t index;
    Json args;
    bool dropped;
  };

  void add(Reply reply) {
    bool first;
    {
      std::lock_guard lock(mutex_);
      first = pending_.empty();
      pending_.push_back(std::move(reply));
    }
    if (first) nsp_.sockets().post_to_loop(origin_, [self = shared_from_this()] { self->report(); });
  }

  // On the origin loop.
  void report() {
    {
      std::lock_guard lock(mutex_);
      reporting_.swap(pending_);
    }
    for (auto& reply : reporting_) {
      if (reply.dropped) {
        if (handlers_->on_dropped) handlers_->on_dropped((*reached_)[reply.index]);
      } else if (handlers_->on_ack) {
        handlers_->on_ack((*reached_)[reply.index], reply.args);
      }
    }
    reporting_.clear();
  }

  Namespace& nsp_;
  size_t origin_;
  std::shared_ptr<BroadcastAckHandlers> handlers_;
  std::shared_ptr<const std::vector<SocketInfo>> reached_;  // read-only once shared
  std::mutex mutex_;
  std::vector<Reply> pending_;    // guarded by mutex_
  std::vector<Reply> reporting_;  // the origin's
};

}  // namespace

void Broadcast::emit(std::string_view event, Json args) {
  emit_packet(event_packet(nsp_.name(), std::nullopt, event, args));
}

void Broadcast::emit_packet(Packet packet) {
  packet.nsp = nsp_.name();
  RemoteAdapter* publish_to = local_ ? nullptr : nsp_.cluster_side().adapter();
  uint64_t seq = 0;  // its place in the recovery log, if it has one
  std::shared_ptr<ProtocolPackets> packets;
  Recovery* recovery = nsp_.cluster_side().recovery();
  // As socket.io: events without an ack are replayable (an ack callback cannot be restored).
  if (recovery && packet.type == PacketType::Event && !packet.id) {
    SharedPackets v4;
    std::string offset_sent;
    auto encode = [&packet, &offset_sent, publish_to, this](std::string offset, const Stamp& stamp) {
      // Published under the log's lock, so this node's broadcasts reach the others in stamp order.
      // Other nodes get it with its stamp, not this node's offset: they log it under that stamp.
      if (publish_to) publish_to->broadcast(packet, target_, &stamp);
      offset_sent = offset;
      packet.data.push_back(std::move(offset));
      auto encoded = to_engine_packets(packet);
      packet.data.erase(packet.data.size() - 1);  // v3 clients get no offset
      return encoded;
    };
    // One that no other node gets (local(), or no cluster) is numbered apart from those they get,
    // so theirs have no gaps.
    bool seen_here_only = unstamped_ || (!stamp_ && !publish_to);
    std::tie(seq, v4) = recovery->append(target_, encode, stamp_ ? &*stamp_ : nullptr, seen_here_only);
    packets = std::make_shared<ProtocolPackets>(std::move(v4), std::move(packet), std::move(offset_sent));
  } else {
    if (publish_to) publish_to->broadcast(packet, target_, nullptr);
    SharedPackets text = to_engine_packets(packet);
    packets = std::make_shared<ProtocolPackets>(std::move(text), std::move(packet));
  }
  Namespace* nsp = &nsp_;
  LoopSockets& here = nsp_.sockets();  // this node's loops
  uint64_t loops_reached = here.loops_of(target_);
  here.for_each_loop_of(loops_reached, std::move(target_),
                        [nsp, packets, seq, loops = here.loop_count()](const std::vector<Socket*>& sockets) {
                          LoopPackets local(packets, sockets.size(), loops);
                          for (Socket* socket : sockets) {
                            // A socket that connected or came back after the broadcast was logged has it already, or
                            // had it replayed.
                            if (seq != 0 && seq <= socket->recovery_base()) continue;
                            if (seq != 0 && socket->catching_up()) nsp->sockets().sent_live(*socket, seq);
                            socket->send_encoded(local.get(socket->encoding()));
                          }
                        });
}

void Broadcast::emit_with_ack(std::string_view event, Json args, std::chrono::milliseconds timeout,
                              BroadcastAckHandlers handlers) {
  emit_packet_with_ack(event_packet(nsp_.name(), nsp_.server().next_ack_id(), event, args), timeout,
                       std::move(handlers));
}

void Broadcast::emit_packet_with_ack(Packet packet, std::chrono::milliseconds timeout, BroadcastAckHandlers handlers) {
  packet.nsp = nsp_.name();
  uint64_t id = packet.id.value_or(0);
  size_t origin = LoopSockets::origin_loop();
  LoopSockets& here = nsp_.sockets();  // this node's loops
  auto shared = std::make_shared<BroadcastAckHandlers>(std::move(handlers));
  bool to_other_nodes = !local_ && nsp_.cluster_side().adapter();
  if (to_other_nodes) nsp_.cluster_side().adapter()->broadcast_with_ack(packet, target_, timeout, shared);
  // Told as each loop sends it (recovery.hpp): an id to match it by, if its first argument is one.
  RecoveryWatch* watch = nsp_.cluster_side().recovery() ? nsp_.cluster_side().recovery()->watch() : nullptr;
  std::string watched;
  if (watch && packet.data.is_array() && packet.data.size() > 1 && packet.data[1].is_string())
    watched = packet.data[1].get<std::string>();
  SharedPackets text = to_engine_packets(packet);
  auto packets = std::make_shared<ProtocolPackets>(std::move(text), std::move(packet));
  Namespace* nsp = &nsp_;
  auto deadline = nsp_.server().pool().clock().now() + timeout;
  // Loops with no member of its rooms are not woken: they reach nobody, reported from here.
  uint64_t loops = here.loops_of(target_);
  size_t skipped = loops == here.every_loop() ? 0 : here.loop_count() - std::popcount(loops);
  for (size_t loop = 0; skipped > 0 && loop < here.loop_count() && !watched.empty(); ++loop)
    if (!(loops & (uint64_t{1} << loop))) watch->acked_broadcast_sending(loop, watched);
  // What the origin can tell itself (no other node reports; the loops not woken reach nobody)
  // comes in one task, before any loop's reach.
  if (!to_other_nodes || skipped > 0) {
    here.post_to_loop(origin, [shared, skipped, alone = !to_other_nodes] {
      if (alone && shared->on_remote_nodes) shared->on_remote_nodes(0, true);
      for (size_t i = 0; i < skipped && shared->on_reached; ++i) shared->on_reached({});
    });
  }
  // A Broadcast emits once: its target goes with the emit.
  here.for_each_loop_of(loops, std::move(target_),
                        [nsp, packets, origin, shared, id, deadline, watch,
                         watched = std::move(watched)](const std::vector<Socket*>& sockets) {
                          if (!watched.empty()) watch->acked_broadcast_sending(LoopSockets::origin_loop(), watched);
                          auto reached = std::make_shared<std::vector<SocketInfo>>();
                          reached->reserve(sockets.size());
                          for (Socket* socket : sockets)
                            reached->push_back(SocketInfo{socket->id(), socket->attached(), socket->data});
                          // Report the reach before sending, so it arrives at the origin before any ack.
                          nsp->sockets().post_to_loop(origin, [shared, reached] {
                            if (shared->on_reached) shared->on_reached(*reached);
                          });
                          auto acks = std::make_shared<LoopAcks>(*nsp, origin, shared, std::move(reached));
                          LoopPackets local(packets, sockets.size(), nsp->sockets().loop_count());
                          auto now = nsp->server().pool().clock().now();
                          for (size_t i = 0; i < sockets.size(); ++i) {
                            sockets[i]->expect_ack(id, deadline, now, acks, static_cast<uint32_t>(i));
                            sockets[i]->send_encoded(local.get(sockets[i]->encoding()));
                          }
                        });
}

void Broadcast::change_rooms(std::vector<std::string> rooms, bool join) {
  if (!local_ && nsp_.cluster_side().adapter()) {
    if (join)
      nsp_.cluster_side().adapter()->sockets_join(target_, rooms);
    else
      nsp_.cluster_side().adapter()->sockets_leave(target_, rooms);
  }
  nsp_.sockets().for_each_loop(target_, [rooms = std::move(rooms), join](const std::vector<Socket*>& sockets) {
    for (Socket* socket : sockets) join ? socket->join(rooms) : socket->leave(rooms);
  });
}

void Broadcast::sockets_join(std::string room) { change_rooms({std::move(room)}, true); }

void Broadcast::sockets_leave(std::string room) { change_rooms({std::move(room)}, false); }

void Broadcast::disconnect_sockets(bool close) {
  if (!local_ && nsp_.cluster_side().adapter()) nsp_.cluster_side().adapter()->disconnect_sockets(target_, close);
  nsp_.sockets().for_each_loop(target_, [close](const std::vector<Socket*>& sockets) {
    // Hold them: disconnecting removes them from the namespace's tables.
    std::vector<std::shared_ptr<Socket>> held;
    held.reserve(sockets.size());
    for (Socket* socket : sockets) held.push_back(socket->shared_from_this());
    for (auto& socket : held) socket->disconnect(close);
  });
}

void Broadcast::fetch_sockets(std::function<void(std::vector<SocketInfo>& sockets, bool complete)> done) {
  // This node's loops, and the other nodes when there is a cluster to ask.
  struct Found {
    std::vector<SocketInfo> sockets;
    bool complete = true;
  };
  bool ask_remote = !local_ && nsp_.cluster_side().adapter();
  auto found = net::FanIn<Found>::expect(ask_remote ? 2 : 1,
                                         [done = std::move(done)](Found& all) { done(all.sockets, all.complete); });
  if (ask_remote) {
    size_t origin = LoopSockets::origin_loop();
    Namespace* nsp = &nsp_;
    nsp_.cluster_side().adapter()->fetch_sockets(
        target_, [found, nsp, origin](std::vector<SocketInfo>& remote, bool complete) {
          nsp->sockets().post_to_loop(origin, [found, remote = std::move(remote), complete]() mutable {
            for (auto& socket : remote) found->result().sockets.push_back(std::move(socket));
            found->result().complete = complete;
            found->arrived();
          });
        });
  }
  nsp_.sockets().collect<std::vector<SocketInfo>>(
      target_,
      [](const std::vector<Socket*>& sockets) {
        std::vector<SocketInfo> infos;
        infos.reserve(sockets.size());
        for (Socket* socket : sockets) {
          std::vector<std::string> rooms{socket->id()};
          rooms.insert(rooms.end(), socket->rooms().begin(), socket->rooms().end());
          const auto& handshake = socket->handshake();
          infos.push_back(SocketInfo{socket->id(), socket->attached(), socket->reported_data(), std::move(rooms),
                                     Json{{"address", handshake.address},
                                          {"query", handshake.query},
                                          {"auth", socket->auth()},
                                          {"transport", socket->transport()}}});
        }
        return infos;
      },
      [found](std::vector<std::vector<SocketInfo>>& parts) {
        for (auto& part : parts)
          for (auto& socket : part) found->result().sockets.push_back(std::move(socket));
        found->arrived();
      });
}

}  // namespace herald::socketio
