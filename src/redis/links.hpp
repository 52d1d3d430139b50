// The two connections a Herald process keeps to its Redis: one for commands and publishing, one
// for subscriptions. Redis is one server (redis://...), or a master that Sentinel names and moves
// on failover: the connections then ask the sentinels before every attempt, leave a server that is
// not (or no longer) the master, and reconnect at once on +switch-master. Or a Redis Cluster: the
// two links then reach every master (redis/cluster_client.hpp).
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "redis/connection.hpp"
#include "redis/sentinel.hpp"

namespace herald::redis {

struct Target {
  // One server; with sentinels, the credentials, db and TLS of the master they name.
  Endpoint endpoint;
  SentinelSettings sentinel;  // sentinels given: Sentinel mode
  // Redis Cluster: host:port of some of its nodes (the credentials and TLS are the endpoint's).
  std::vector<std::string> cluster;

  bool uses_sentinel() const { return !sentinel.sentinels.empty(); }
  bool uses_cluster() const { return !cluster.empty(); }
};

// For logs and /ready: the URL without its password, or the sentinels and the master's name.
std::string describe(const Target& target);

class Links {
 public:
  Links(boost::asio::io_context& loop, const Target& target, const Options& options);
  ~Links();
  Links(const Links&) = delete;
  Links& operator=(const Links&) = delete;

  // On the loop.
  void start();
  void stop();

  const std::shared_ptr<Connection>& commands() const { return commands_; }
  const std::shared_ptr<Connection>& subscriber() const { return subscriber_; }
  // The server in use now (host:port); with Sentinel, the master.
  std::string server() const { return commands_->server(); }
  // Sentinel: the failovers announced so far.
  uint64_t failovers() const { return sentinel_ ? sentinel_->switches() : 0; }
  const char* mode() const { return sentinel_ ? "sentinel" : clustered_ ? "cluster" : "single"; }

 private:
  std::shared_ptr<Sentinel> sentinel_;
  std::shared_ptr<Connection> commands_;
  std::shared_ptr<Connection> subscriber_;
  bool clustered_ = false;
};

}  // namespace herald::redis
