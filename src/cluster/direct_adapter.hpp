// The push namespace's adapter in a cluster of Herald nodes: a push with acks to named users goes
// straight to the nodes that hold their sockets, over a direct link to each (cluster/direct_link.hpp),
// instead of a broadcast through Redis that every node decodes and answers. Everything else, and
// every push it cannot place for sure, goes through the Redis adapter as before:
// - the cluster has a server that is not a Herald node (a Node socket.io server's users are
//   reached only through the adapter protocol), or a user has no socket recorded in presence;
// - a node presence names does not hold the user's socket after all (the user just moved): those
//   users are sent the push through the adapter once that node has answered;
// - a node that cannot be reached, or whose link breaks before it answered: its users likewise.
//   A link that breaks after the node answered reports the sockets not yet acked as dropped, so
//   the push is kept for their users (the at-least-once store) without waiting out the timeout.
// Receipts see the same reports either way: each node's reach once, its acks, its drops.
//
// Links are per loop (the loop the push started on owns its link and its state): nothing shared.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/direct_link.hpp"
#include "cluster/direct_locator.hpp"
#include "net/loop_pool.hpp"
#include "socketio/adapter.hpp"
#include "socketio/namespace.hpp"

namespace herald::cluster {

class DirectAdapter : public socketio::RemoteAdapter, public std::enable_shared_from_this<DirectAdapter> {
 public:
  // `token`: the API token, which other nodes ask of a link (empty: none).
  DirectAdapter(net::LoopPool& pool, socketio::Namespace& nsp, std::shared_ptr<socketio::RemoteAdapter> fallback,
                std::shared_ptr<DirectLocator> locator, const std::string& token);

  // Only a push to at most this many named users is placed (a bigger one costs a lookup per user).
  static constexpr size_t kMaxUsers = 16;
  // After a link to a node failed, pushes to it take the adapter path for this long.
  static constexpr std::chrono::milliseconds kRetryAfter{1000};

  void broadcast(const socketio::Packet& packet, const socketio::Target& target,
                 const socketio::Stamp* stamp) override {
    fallback_->broadcast(packet, target, stamp);
  }
  void broadcast_with_ack(const socketio::Packet& packet, const socketio::Target& target,
                          std::chrono::milliseconds timeout,
                          std::shared_ptr<socketio::BroadcastAckHandlers> handlers) override;
  void sockets_join(const socketio::Target& target, const std::vector<std::string>& rooms) override {
    fallback_->sockets_join(target, rooms);
  }
  void sockets_leave(const socketio::Target& target, const std::vector<std::string>& rooms) override {
    fallback_->sockets_leave(target, rooms);
  }
  void disconnect_sockets(const socketio::Target& target, bool close) override {
    fallback_->disconnect_sockets(target, close);
  }
  void fetch_sockets(const socketio::Target& target,
                     std::function<void(std::vector<socketio::SocketInfo>& sockets, bool complete)> done) override {
    fallback_->fetch_sockets(target, std::move(done));
  }
  void server_side_emit(const socketio::Json& data) override { fallback_->server_side_emit(data); }
  void server_side_emit_with_ack(
      const socketio::Json& data, std::chrono::milliseconds timeout,
      std::function<void(std::vector<socketio::Json>& replies, bool complete)> done) override {
    fallback_->server_side_emit_with_ack(data, timeout, std::move(done));
  }
  bool reachable() const override { return fallback_->reachable(); }
  void room_opened(const std::string& room) override { fallback_->room_opened(room); }
  void room_closed(const std::string& room) override { fallback_->room_closed(room); }

 private:
  struct Attempt;
  struct Peer;
  struct Outstanding;

  // Whether the direct path may take a push to `target`.
  // A push to one or more users (not rooms, not all), as Delivery marks it.
  static bool users_push(const socketio::Target& target);
  bool placeable(const socketio::Target& target) const;
  void send_direct(size_t loop, const std::shared_ptr<Attempt>& attempt, DirectLocator::Located& where);
  // Every node asked has answered (or failed): the users none of them held take the adapter path.
  void settle(const std::shared_ptr<Attempt>& attempt);
  // Sends the push to `users` through the adapter; the nodes it reaches add to those `already` counted.
  void fall_back(const std::shared_ptr<Attempt>& attempt, std::vector<std::string> users, size_t already);
  std::shared_ptr<Peer> peer(size_t loop, const DirectLocator::Node& node);
  bool on_frame(Peer& peer, direct::Frame& frame);
  void on_link_closed(size_t loop, const std::string& node);
  void sweep(size_t loop, const std::string& node);

  net::LoopPool& pool_;
  socketio::Namespace& nsp_;
  std::shared_ptr<socketio::RemoteAdapter> fallback_;
  std::shared_ptr<DirectLocator> locator_;
  std::string upgrade_request_tail_;  // the upgrade request's headers after Host
  // Per loop: the links it opened, by node uid.
  std::vector<std::unordered_map<std::string, std::shared_ptr<Peer>>> peers_;
};

}  // namespace herald::cluster
