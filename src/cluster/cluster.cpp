#include "cluster/cluster.hpp"

#include <spdlog/spdlog.h>

#include "cluster/classic_wire.hpp"
#include "cluster/redis_adapter.hpp"
#include "cluster/sharded_wire.hpp"
#include "engineio/sid.hpp"
#include "metrics/metrics.hpp"

namespace herald::cluster {

Cluster::Cluster(net::LoopPool& pool, Config config)
    : pool_(pool), config_(std::move(config)), uid_(engineio::random_id().substr(0, 6)) {
  redis::Options options;
  options.client_name = "herald-" + uid_;
  links_ = std::make_unique<redis::Links>(pool_.loop(kRedisLoop), config_.redis, options);
  pub_ = links_->commands();
  sub_ = links_->subscriber();
  metrics::global().redis_up.store(0, std::memory_order_relaxed);
  pub_->on_state([this](redis::State state, std::string_view error) {
    follow_command_link(state);
    on_state_change("command", state, error);
  });
  sub_->on_state([this](redis::State state, std::string_view error) { on_state_change("subscriber", state, error); });
  snapshot();
  sub_->on_message([this](std::string_view pattern, std::string_view channel, std::string_view payload) {
    on_message(pattern, channel, payload);
  });
}

Cluster::~Cluster() = default;

void Cluster::follow_command_link(redis::State state) {
  // (Subscribing to a channel twice, or leaving one twice, changes nothing.)
  if (state == redis::State::Connecting) return;
  bool answering = state == redis::State::Connected;
  for (const auto& adapter : adapters_) {
    std::string channel = adapter->wire().request_channel();
    if (channel.empty()) continue;
    if (answering)
      sub_->subscribe(channel);
    else
      sub_->unsubscribe(channel);
  }
}

void Cluster::on_state_change(const char* role, redis::State state, std::string_view error) {
  bool now_connected = connected();
  metrics::global().redis_up.store(now_connected ? 1 : 0, std::memory_order_relaxed);
  if (now_connected && !was_connected_) {
    for (const auto& work : on_connected_) work();
  }
  was_connected_ = now_connected;
  reachable_.store(now_connected, std::memory_order_relaxed);
  snapshot();
  std::string where = config_.redis.uses_sentinel()
                          ? "master " + pub_->server() + " (" + redis::describe(config_.redis) + ")"
                          : redis::describe(config_.redis);
  if (state == redis::State::Connected) {
    spdlog::info("redis {} connection to {} up", role, where);
    if (alerter_ && connected()) {
      alerter_->resolve("redis_unreachable", "the Redis server " + where + " is reachable again");
      alerter_->resolve("redis_error", "the Redis server " + where + " answers normally again");
    }
  } else if (state == redis::State::Disconnected) {
    spdlog::warn("redis {} connection to {} down: {}", role, where, error);
    if (!alerter_) return;
    // The seed's two kinds: an unreachable server, and a server that answers with an error.
    bool server_error = error.starts_with("READONLY") || error.find("WRONGPASS") != std::string_view::npos ||
                        error.find("NOAUTH") != std::string_view::npos || error.starts_with("ERR");
    if (server_error)
      alerter_->raise("redis_error", "Redis server error from " + where + ": " + std::string(error) +
                                         ". Cross-node delivery is suspended; this node serves its own clients.");
    else
      alerter_->raise("redis_unreachable", "cannot connect to the Redis server " + where + ": " + std::string(error) +
                                               ". Cross-node delivery is suspended; this node serves its own clients.");
  }
}

void Cluster::attach(socketio::Namespace& nsp) {
  // A Redis Cluster speaks the sharded protocol (createShardedAdapter), one server the classic one.
  // Emitters speak only the classic one: with a Redis Cluster, their broadcasts and requests are
  // taken in too (classic pub/sub reaches every node).
  std::shared_ptr<RedisAdapter> adapter;
  if (config_.redis.uses_cluster())
    adapter =
        std::make_shared<RedisAdapter>(*this, nsp, std::make_unique<ShardedWire>(config_.prefix, nsp.name(), uid_),
                                       std::make_unique<ClassicWire>(config_.prefix, nsp.name(), uid_));
  else
    adapter =
        std::make_shared<RedisAdapter>(*this, nsp, std::make_unique<ClassicWire>(config_.prefix, nsp.name(), uid_));
  nsp.cluster_side().set_adapter(adapter);
  adapters_.push_back(adapter);
  for (const Wire* wire : {&adapter->wire(), adapter->emitter_wire()}) {
    if (wire == nullptr) continue;
    if (!wire->pattern().empty()) sub_->psubscribe(wire->pattern());
    for (const auto& channel : wire->channels()) {
      if (wire->sharded())
        sub_->ssubscribe(channel);
      else
        sub_->subscribe(channel);
    }
  }
  on_connected([adapter] { adapter->read_recovery_history(); });
}

void Cluster::start() {
  post([this] {
    links_->start();
    probe_timer_ = std::make_unique<boost::asio::steady_timer>(pool_.loop(kRedisLoop));
    probe();
  });
}

void Cluster::probe() {
  auto sent = std::chrono::steady_clock::now();
  pub_->command({"PING"}, [this, sent](const redis::Reply& reply) {
    auto& metrics = metrics::global();
    latency_micros_ =
        reply.is_error()
            ? -1
            : std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - sent).count();
    metrics.redis_latency_micros.store(latency_micros_, std::memory_order_relaxed);
    metrics.redis_reconnects.store(pub_->reconnects() + sub_->reconnects(), std::memory_order_relaxed);
    metrics.redis_failovers.store(links_->failovers(), std::memory_order_relaxed);
    metrics.redis_redirects.store(pub_->redirects(), std::memory_order_relaxed);
  });
  pub_->command({"ROLE"}, [this](const redis::Reply& reply) {
    if (reply.type == redis::Reply::Type::Array && !reply.elements.empty())
      role_ = reply.elements[0].str;
    else if (reply.is_error())
      role_ = "unknown";
    master_ = role_ == "master";
    metrics::global().redis_master.store(master_, std::memory_order_relaxed);
    snapshot();
  });
  probe_timer_->expires_after(std::chrono::seconds(2));
  probe_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) probe();
  });
}

void Cluster::snapshot() {
  auto state_name = [](redis::State state) {
    switch (state) {
      case redis::State::Connected:
        return "connected";
      case redis::State::Connecting:
        return "connecting";
      case redis::State::Disconnected:
        return "down";
      case redis::State::Stopped:
        return "stopped";
    }
    return "unknown";
  };
  herald::Json status{{"url", redis::describe(config_.redis)},
                      {"mode", links_->mode()},
                      {"server", links_->server()},
                      {"node", uid_},
                      {"commands", state_name(pub_->state())},
                      {"subscriptions", state_name(sub_->state())},
                      {"role", role_},
                      {"reconnects", pub_->reconnects() + sub_->reconnects()}};
  status["latencyMs"] = latency_micros_ < 0 ? herald::Json(nullptr) : herald::Json(latency_micros_ / 1000.0);
  if (!connected()) status["lastError"] = pub_->last_error().empty() ? sub_->last_error() : pub_->last_error();
  std::lock_guard lock(status_mutex_);
  status_ = std::move(status);
}

herald::Json Cluster::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

void Cluster::stop() {
  post([this] {
    if (probe_timer_) probe_timer_->cancel();
    links_->stop();
  });
}

bool Cluster::connected() const {
  return pub_->state() == redis::State::Connected && sub_->state() == redis::State::Connected;
}

void Cluster::publish(const std::string& channel, std::string payload) {
  pub_->command({"PUBLISH", channel, std::move(payload)}, [channel](const redis::Reply& reply) {
    if (reply.is_error()) spdlog::debug("redis: publish to {} failed: {}", channel, reply.str);
  });
}

void Cluster::command(std::vector<std::string> args, redis::Connection::ReplyHandler done) {
  pub_->command(std::move(args), std::move(done));
}

void Cluster::on_message(std::string_view pattern, std::string_view channel, std::string_view payload) {
  for (auto& adapter : adapters_) {
    if (!adapter->owns(channel)) continue;
    adapter->receive(channel, payload, !pattern.empty());
    return;
  }
}

}  // namespace herald::cluster
