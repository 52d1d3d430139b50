// Presence, the nodes' half: heartbeats, the sweep of dead nodes into herald:nodes:gone, and the
// users of nodes that did not answer a push (see presence.hpp).
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <vector>

#include "cluster/presence.hpp"
#include "cluster/presence_keys.hpp"
#include "codec/json.hpp"

namespace herald::cluster {
namespace {

namespace keys = presence_keys;

constexpr int kSweepEveryTicks = 6;

}  // namespace

void Presence::heartbeat() {
  if (stopped_) return;
  record_node();
  expire_dropped();
  if (ticks_++ % kSweepEveryTicks == 0) sweep();
  timer_->expires_after(heartbeat_);
  timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->heartbeat();
  });
}

void Presence::record_node() {
  herald::Json node{{"address", address_}, {"pid", ::getpid()}};
  const std::string& uid = cluster_.uid();
  cluster_.command({"SET", keys::node(uid), node.dump(), "PX", std::to_string(heartbeat_.count() * 3)},
                   [](const redis::Reply& reply) { log_failure(reply, "heartbeat"); });
  cluster_.command({"SADD", keys::kNodes, uid}, [](const redis::Reply& reply) { log_failure(reply, "SADD"); });
}

void Presence::sweep() {
  cluster_.command({"SMEMBERS", keys::kNodes}, [self = shared_from_this()](const redis::Reply& nodes) {
    if (nodes.type != redis::Reply::Type::Array) return;
    for (const auto& node : nodes.elements) {
      std::string uid = node.str;
      if (uid == self->cluster_.uid()) continue;  // alive: this very heartbeat rewrote its record
      self->cluster_.command({"EXISTS", keys::node(uid)}, [self, uid](const redis::Reply& alive) {
        if (alive.is_error() || alive.integer != 0) return;
        self->retire_node(uid);
      });
    }
  });
  forget_gone_nodes();
}

// Each key is touched by a command of its own (no script spans keys): in a Redis Cluster the
// user's keys and the node's lie in different slots. Several nodes may retire the same one at
// once: every step can be repeated.
void Presence::retire_node(const std::string& node) {
  std::string sockets_key = keys::sockets(node);
  cluster_.command({"HGETALL", sockets_key}, [self = shared_from_this(), node, sockets_key](const redis::Reply& reply) {
    if (reply.type != redis::Reply::Type::Array) return log_failure(reply, "HGETALL node");
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2)
      self->remove_online_entry(reply.elements[i + 1].str, reply.elements[i].str);
    // Its users are away, not gone: clients come back within the recovery window, and pushes to
    // all or to rooms meanwhile are kept for them (users_on_nodes_except).
    bool keep_list = self->recovery_window_.count() > 0 && !reply.elements.empty();
    if (keep_list) {
      self->cluster_.command({"PEXPIRE", sockets_key, std::to_string(self->recovery_window_.count())},
                             [](const redis::Reply& r) { log_failure(r, "PEXPIRE node"); });
      self->cluster_.command({"SADD", keys::kGoneNodes, node},
                             [](const redis::Reply& r) { log_failure(r, "SADD gone"); });
    } else {
      self->cluster_.command({"DEL", sockets_key}, [](const redis::Reply& r) { log_failure(r, "DEL node"); });
    }
    self->cluster_.command({"SREM", keys::kNodes, node}, [](const redis::Reply& r) { log_failure(r, "SREM"); });
    if (!reply.elements.empty() && node != self->cluster_.uid())
      spdlog::info("presence: node {} is gone; its {} sockets are {} for {} ms", node, reply.elements.size() / 2,
                   keep_list ? "listed as away" : "removed", keep_list ? self->recovery_window_.count() : 0);
  });
}

void Presence::forget_gone_nodes() {
  cluster_.command({"SMEMBERS", keys::kGoneNodes}, [self = shared_from_this()](const redis::Reply& nodes) {
    if (nodes.type != redis::Reply::Type::Array) return;
    for (const auto& node : nodes.elements) {
      std::string uid = node.str;
      self->cluster_.command({"EXISTS", keys::sockets(uid)}, [self, uid](const redis::Reply& listed) {
        if (listed.is_error() || listed.integer != 0) return;
        self->cluster_.command({"SREM", keys::kGoneNodes, uid}, [](const redis::Reply& r) { log_failure(r, "SREM"); });
      });
    }
  });
}

void Presence::forget_node() {
  cluster_.post([self = shared_from_this()] {
    self->stopped_ = true;
    if (self->timer_) self->timer_->cancel();
    const std::string& node = self->cluster_.uid();
    self->cluster_.command({"DEL", keys::node(node)}, [](const redis::Reply&) {});
    // From what this node knows, without a round trip: the process ends right after. Sockets still
    // logged in are taken as dropped (their clients come back elsewhere).
    for (auto& [socket_id, login] : self->logins_) {
      self->remove_online_entry(login.uid, socket_id);
      self->dropped_.emplace(socket_id, Dropped{login.uid, {}});
    }
    self->logins_.clear();
    std::string sockets_key = keys::sockets(node);
    if (self->recovery_window_.count() > 0 && !self->dropped_.empty()) {
      self->cluster_.command({"PEXPIRE", sockets_key, std::to_string(self->recovery_window_.count())},
                             [](const redis::Reply& r) { log_failure(r, "PEXPIRE node"); });
      self->cluster_.command({"SADD", keys::kGoneNodes, node},
                             [](const redis::Reply& r) { log_failure(r, "SADD gone"); });
    } else {
      self->cluster_.command({"DEL", sockets_key}, [](const redis::Reply& r) { log_failure(r, "DEL node"); });
    }
    self->cluster_.command({"SREM", keys::kNodes, node}, [](const redis::Reply& r) { log_failure(r, "SREM"); });
  });
}

void Presence::users_on_nodes_except(std::vector<std::string> counted,
                                     std::function<void(std::vector<std::string> users)> done) {
  cluster_.post([self = shared_from_this(), counted = std::move(counted), done = std::move(done)]() mutable {
    self->cluster_.command({"SMEMBERS", keys::kNodes}, [self, counted = std::move(counted),
                                                        done = std::move(done)](const redis::Reply& nodes) mutable {
      std::vector<std::string> silent;
      if (nodes.type == redis::Reply::Type::Array)
        for (const auto& node : nodes.elements)
          if (node.str != self->cluster_.uid() && std::find(counted.begin(), counted.end(), node.str) == counted.end())
            silent.push_back(node.str);
      // Gone nodes answer nothing: every one of them counts.
      self->cluster_.command({"SMEMBERS", keys::kGoneNodes}, [self, silent = std::move(silent), done = std::move(done)](
                                                                 const redis::Reply& gone) mutable {
        if (gone.type == redis::Reply::Type::Array)
          for (const auto& node : gone.elements)
            if (node.str != self->cluster_.uid() && std::find(silent.begin(), silent.end(), node.str) == silent.end())
              silent.push_back(node.str);
        self->users_of_nodes(silent, std::move(done));
      });
    });
  });
}

void Presence::users_of_nodes(const std::vector<std::string>& nodes,
                              std::function<void(std::vector<std::string>)> done) {
  if (nodes.empty()) return done({});
  struct Gathered {
    std::set<std::string> users;
    size_t nodes_left;
    std::function<void(std::vector<std::string>)> done;
  };
  auto gathered = std::make_shared<Gathered>(Gathered{{}, nodes.size(), std::move(done)});
  for (const auto& node : nodes)
    cluster_.command({"HVALS", keys::sockets(node)}, [gathered](const redis::Reply& reply) {
      if (reply.type == redis::Reply::Type::Array)
        for (const auto& uid : reply.elements) gathered->users.insert(uid.str);
      else
        log_failure(reply, "HVALS node");
      if (--gathered->nodes_left == 0)
        gathered->done(std::vector<std::string>(gathered->users.begin(), gathered->users.end()));
    });
}

}  // namespace herald::cluster
