// A Herald node's membership in a cluster through Redis. Owns the process's two Redis
// connections (redis::Links: one for commands and publishing, one subscriber fanned out to every
// namespace's adapter), both on loop 0, and the node's identity. Nodes keep no shared state but Redis.
#pragma once

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include "codec/json.hpp"

#include "net/loop_pool.hpp"
#include "notify/alerter.hpp"
#include "redis/connection.hpp"
#include "redis/links.hpp"
#include "socketio/server.hpp"

namespace herald::cluster {

class RedisAdapter;

struct Config {
  redis::Target redis;               // one server, or a master found through Sentinel
  std::string prefix = "socket.io";  // as @socket.io/redis-adapter's `key` option
  std::chrono::milliseconds requests_timeout{5000};
};

class Cluster {
 public:
  static constexpr size_t kRedisLoop = 0;

  Cluster(net::LoopPool& pool, Config config);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Alerts on Redis trouble go here (before start(); may stay unset).
  void set_alerter(notify::Alerter* alerter) { alerter_ = alerter; }
  // Joins `nsp` to the cluster (before start()).
  void attach(socketio::Namespace& nsp);
  // Runs `work` on the Redis loop each time both connections come up (the first time and after
  // every outage), before /ready reports them up: to re-record what Redis may have lost.
  // Before start().
  void on_connected(std::function<void()> work) { on_connected_.push_back(std::move(work)); }
  void start();
  void stop();

  const std::string& uid() const { return uid_; }
  const Config& config() const { return config_; }
  net::LoopPool& pool() { return pool_; }

  // Runs on the Redis loop; from any thread.
  void post(std::function<void()> work) { pool_.post(kRedisLoop, std::move(work)); }
  // Redis loop only.
  void publish(const std::string& channel, std::string payload);
  void command(std::vector<std::string> args, redis::Connection::ReplyHandler done);
  bool connected() const;
  // Any thread: both connections were up at the last change.
  bool reachable() const { return reachable_.load(std::memory_order_relaxed); }
  // Health of the Redis side, for /ready: state of both connections, role, latency, last error.
  // Any thread: reads a snapshot the Redis loop keeps up to date.
  herald::Json status() const;
  redis::Connection* commands() { return pub_.get(); }
  redis::Connection* subscriber() { return sub_.get(); }

 private:
  void on_message(std::string_view pattern, std::string_view channel, std::string_view payload);
  // Every few seconds: PING for latency and ROLE for the master role.
  void probe();
  // Redis loop: refreshes the snapshot status() returns.
  void snapshot();
  void on_state_change(const char* role, redis::State state, std::string_view error);
  // A node that cannot publish cannot answer requests: it leaves the request channels while its
  // command connection is down, so that requesters do not count it and wait for it in vain.
  void follow_command_link(redis::State state);

  net::LoopPool& pool_;
  Config config_;
  std::string uid_;
  std::unique_ptr<redis::Links> links_;
  std::shared_ptr<redis::Connection> pub_;  // links_->commands()
  std::shared_ptr<redis::Connection> sub_;  // links_->subscriber()
  std::vector<std::shared_ptr<RedisAdapter>> adapters_;
  std::vector<std::function<void()>> on_connected_;
  bool was_connected_ = false;
  std::unique_ptr<boost::asio::steady_timer> probe_timer_;
  int64_t latency_micros_ = -1;
  bool master_ = false;
  std::string role_ = "unknown";
  std::atomic<bool> reachable_{false};
  notify::Alerter* alerter_ = nullptr;
  mutable std::mutex status_mutex_;
  herald::Json status_;
};

}  // namespace herald::cluster
