#include "redis/links.hpp"

#include "redis/cluster_client.hpp"

namespace herald::redis {

std::string describe(const Target& target) {
  if (target.uses_cluster()) {
    std::string nodes;
    for (const auto& node : target.cluster) nodes += (nodes.empty() ? "" : ",") + node;
    return "Redis Cluster " + nodes;
  }
  if (!target.uses_sentinel()) return describe(target.endpoint);
  std::string sentinels;
  for (const auto& sentinel : target.sentinel.sentinels)
    sentinels += (sentinels.empty() ? "" : ",") + sentinel.host + ":" + std::to_string(sentinel.port);
  return "master '" + target.sentinel.master_name + "' of sentinels " + sentinels;
}

Links::Links(boost::asio::io_context& loop, const Target& target, const Options& options) {
  if (target.uses_cluster()) {
    clustered_ = true;
    auto commands = std::make_shared<ClusterCommands>(loop, target.cluster, target.endpoint, options);
    subscriber_ = std::make_shared<ClusterSubscriptions>(loop, commands, target.endpoint, options);
    commands_ = std::move(commands);
    return;
  }
  Options data_options = options;
  if (target.uses_sentinel()) {
    sentinel_ = Sentinel::create(loop, target.sentinel);
    data_options.locate = sentinel_->locator();
    data_options.require_master = true;
  }
  commands_ = Connection::create(loop, target.endpoint, data_options);
  subscriber_ = Connection::create(loop, target.endpoint, data_options);
  if (sentinel_) {
    std::weak_ptr<Connection> commands = commands_;
    std::weak_ptr<Connection> subscriber = subscriber_;
    sentinel_->on_switch([commands, subscriber](const std::string& host, uint16_t port) {
      std::string master = host + ":" + std::to_string(port);
      for (const auto& weak : {commands, subscriber}) {
        auto connection = weak.lock();
        if (!connection) continue;
        if (connection->state() == State::Connected && connection->server() == master) continue;
        connection->reconnect("failover: the master is now " + master);
      }
    });
  }
}

Links::~Links() = default;

void Links::start() {
  if (sentinel_) sentinel_->start();
  commands_->start();
  subscriber_->start();
}

void Links::stop() {
  commands_->stop();
  subscriber_->stop();
  if (sentinel_) sentinel_->stop();
}

}  // namespace herald::redis
