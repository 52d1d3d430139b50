#include "cluster/direct_locator.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "cluster/redis_adapter.hpp"
#include "socketio/types.hpp"

namespace herald::cluster {

using socketio::Json;

struct DirectLocator::Lookup {
  size_t origin;
  std::function<void(Located&)> done;
  size_t replies_left = 0;
  bool unsure = false;
  std::map<std::string, std::vector<std::string>> users_by_node;  // other nodes only
  Located located;
};

DirectLocator::DirectLocator(Cluster& cluster, std::shared_ptr<RedisAdapter> adapter,
                             std::chrono::milliseconds check_every)
    : cluster_(cluster), adapter_(std::move(adapter)), check_every_(check_every) {}

void DirectLocator::start() {
  cluster_.on_connected([self = shared_from_this()] { self->check(); });
  cluster_.post([self = shared_from_this()] {
    self->timer_ = std::make_unique<boost::asio::steady_timer>(self->cluster_.pool().loop(Cluster::kRedisLoop));
    self->schedule_check();
  });
}

void DirectLocator::schedule_check() {
  // Unsure (a node that started beside this one may not have recorded itself yet when the first
  // check ran), look again soon: until then every push to users takes the adapter path.
  timer_->expires_after(herald_only() ? check_every_ : std::min(check_every_, kUnsureRecheck));
  timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (self->cluster_.connected())
      self->check();
    else
      self->herald_only_.store(false, std::memory_order_relaxed);  // unsure until Redis is back
    self->schedule_check();
  });
}

// The servers subscribed to the push namespace against the Herald nodes alive: more servers than
// Herald nodes means a Node server (or another program) shares the cluster.
void DirectLocator::check() {
  adapter_->server_count([self = shared_from_this()](size_t servers, bool ok) {
    if (!ok) return self->herald_only_.store(false, std::memory_order_relaxed);
    self->cluster_.command({"SMEMBERS", "herald:nodes"}, [self, servers](const redis::Reply& nodes) {
      if (nodes.type != redis::Reply::Type::Array) return self->herald_only_.store(false, std::memory_order_relaxed);
      auto alive = std::make_shared<size_t>(0);
      auto left = std::make_shared<size_t>(nodes.elements.size());
      if (*left == 0) return self->herald_only_.store(false, std::memory_order_relaxed);
      for (const auto& node : nodes.elements) {
        self->cluster_.command(
            {"EXISTS", "herald:node:" + node.str}, [self, servers, alive, left](const redis::Reply& r) {
              if (!r.is_error() && r.integer == 1) ++*alive;
              if (--*left > 0) return;
              bool only = servers > 0 && servers <= *alive;
              if (only != self->herald_only()) {
                spdlog::info("cluster: {} servers on the push namespace, {} Herald nodes: pushes to users {}", servers,
                             *alive, only ? "go straight to their nodes" : "go through the adapter protocol");
              }
              self->herald_only_.store(only, std::memory_order_relaxed);
            });
      }
    });
  });
}

std::pair<std::string, uint16_t> DirectLocator::split_address(std::string_view address) {
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return {"", 0};
  uint16_t port = 0;
  auto [end, ec] = std::from_chars(address.data() + colon + 1, address.data() + address.size(), port);
  if (ec != std::errc() || end != address.data() + address.size() || port == 0) return {"", 0};
  std::string_view host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {std::string(host), port};
}

void DirectLocator::locate(const std::vector<std::string>& users, size_t origin, std::function<void(Located&)> done) {
  auto lookup = std::make_shared<Lookup>();
  lookup->origin = origin;
  lookup->done = std::move(done);
  cluster_.post([self = shared_from_this(), lookup, users] {
    lookup->replies_left = users.size();
    for (const auto& uid : users) {
      self->cluster_.command({"HGETALL", "herald:user:" + uid}, [self, lookup, uid](const redis::Reply& reply) {
        const std::string& own = self->cluster_.uid();
        if (reply.type != redis::Reply::Type::Array || reply.elements.empty()) {
          lookup->unsure = true;  // no socket recorded: offline, or on a server that records none
        } else {
          for (size_t i = 1; i < reply.elements.size(); i += 2) {
            const std::string& node = reply.elements[i].str;
            if (node == own) continue;
            auto& listed = lookup->users_by_node[node];
            if (listed.empty() || listed.back() != uid) listed.push_back(uid);
          }
        }
        if (--lookup->replies_left == 0) self->resolve_addresses(lookup);
      });
    }
  });
}

void DirectLocator::resolve_addresses(const std::shared_ptr<Lookup>& lookup) {
  if (lookup->unsure) return answer(lookup);
  auto missing = std::make_shared<size_t>(0);
  for (const auto& [node, users] : lookup->users_by_node)
    if (!addresses_.contains(node)) ++*missing;
  if (*missing == 0) return answer(lookup);
  for (const auto& [node, users] : lookup->users_by_node) {
    if (addresses_.contains(node)) continue;
    cluster_.command({"GET", "herald:node:" + node},
                     [self = shared_from_this(), lookup, missing, node = node](const redis::Reply& reply) {
                       if (reply.type == redis::Reply::Type::String) {
                         Json record = Json::parse(reply.str, nullptr, false);
                         if (record.is_object() && record.contains("address") && record["address"].is_string()) {
                           auto address = split_address(record["address"].get<std::string>());
                           if (address.second != 0) self->addresses_[node] = std::move(address);
                         }
                       }
                       // A node without a record is gone (or never was one): the users are reached another way.
                       if (!self->addresses_.contains(node)) lookup->unsure = true;
                       if (--*missing == 0) self->answer(lookup);
                     });
  }
}

void DirectLocator::answer(const std::shared_ptr<Lookup>& lookup) {
  lookup->located.sure = !lookup->unsure;
  if (lookup->located.sure) {
    for (auto& [node, users] : lookup->users_by_node) {
      const auto& [host, port] = addresses_[node];
      lookup->located.others.push_back(Node{node, host, port, std::move(users)});
    }
  }
  cluster_.pool().post(lookup->origin, [lookup] { lookup->done(lookup->located); });
}

}  // namespace herald::cluster
