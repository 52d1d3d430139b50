// A Redis Cluster behind the Connection interface, for Herald's two links.
//
// ClusterCommands routes each command to the master of its key's slot (keyless ones to any
// master), follows MOVED (the slot map is corrected and reloaded) and ASK (ASKING, then the
// command on the node named) redirections, retries TRYAGAIN / CLUSTERDOWN a few times, and reloads
// the slot map (CLUSTER SLOTS) every few seconds and whenever a node is lost, so topology changes
// are followed. ClusterSubscriptions keeps each sharded channel subscribed (SSUBSCRIBE) on the
// master of its slot, moving it when the slot moves; classic channels go to one master (classic
// pub/sub reaches every node of a cluster).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "redis/connection.hpp"
#include "redis/node_group.hpp"
#include "redis/slot_map.hpp"

namespace herald::redis {

class ClusterCommands final : public Connection {
 public:
  // `seeds`: host and port of some nodes; `credentials`: the nodes' user, password and TLS.
  ClusterCommands(boost::asio::io_context& loop, std::vector<std::string> seeds, Endpoint credentials, Options options);
  ~ClusterCommands() override;

  void start() override;
  void stop() override;
  void command(std::vector<std::string> args, ReplyHandler done) override;
  void command_each_master(std::vector<std::string> args,
                           std::function<void(const std::vector<Reply>& replies)> done) override;
  // The command side subscribes to nothing.
  void subscribe(const std::string&) override {}
  void psubscribe(const std::string&) override {}
  void unsubscribe(const std::string&) override {}
  void ssubscribe(const std::string&) override {}
  void sunsubscribe(const std::string&) override {}
  void on_message(MessageHandler) override {}
  void on_state(StateHandler handler) override { state_handler_ = std::move(handler); }
  void reconnect(std::string reason) override;

  State state() const override { return state_; }
  std::string server() const override;
  const std::string& last_error() const override { return last_error_; }
  uint64_t reconnects() const override;
  uint64_t redirects() const override { return redirects_; }

  const SlotMap& slots() const { return slots_; }
  // Runs after every change of the slot map.
  void on_topology(std::function<void()> handler) { topology_handlers_.push_back(std::move(handler)); }

 private:
  struct Call;
  void route(const std::shared_ptr<Call>& call);
  void answered(const std::shared_ptr<Call>& call, const Reply& reply);
  void retry_later(const std::shared_ptr<Call>& call);
  void refresh();
  void keep_refreshing();
  void update_state();

  boost::asio::io_context& loop_;
  std::vector<std::string> seeds_;
  NodeGroup nodes_;
  SlotMap slots_;
  boost::asio::steady_timer refresh_timer_;
  bool refreshing_ = false;
  bool started_ = false;
  uint64_t redirects_ = 0;
  std::vector<std::function<void()>> topology_handlers_;
  StateHandler state_handler_;
  State state_ = State::Disconnected;
  std::string last_error_;
};

class ClusterSubscriptions final : public Connection {
 public:
  ClusterSubscriptions(boost::asio::io_context& loop, std::shared_ptr<ClusterCommands> commands, Endpoint credentials,
                       Options options);
  ~ClusterSubscriptions() override;

  void start() override;
  void stop() override;
  // Subscriptions only.
  void command(std::vector<std::string> args, ReplyHandler done) override;
  void command_each_master(std::vector<std::string> args,
                           std::function<void(const std::vector<Reply>& replies)> done) override;
  void subscribe(const std::string& channel) override;
  void psubscribe(const std::string& pattern) override;
  void unsubscribe(const std::string& channel) override;
  void ssubscribe(const std::string& channel) override;
  void sunsubscribe(const std::string& channel) override;
  void on_message(MessageHandler handler) override { nodes_.on_message(std::move(handler)); }
  void on_state(StateHandler handler) override { state_handler_ = std::move(handler); }
  void reconnect(std::string reason) override;

  State state() const override { return state_; }
  std::string server() const override { return commands_->server(); }
  const std::string& last_error() const override { return last_error_; }
  uint64_t reconnects() const override;

 private:
  // Puts every channel on the master of its slot now (and the classic ones on the first master).
  void place_all();
  void place(const std::string& channel, std::string& where);
  void update_state();

  std::shared_ptr<ClusterCommands> commands_;
  NodeGroup nodes_;
  std::map<std::string, std::string> shard_channels_;  // channel -> the master it is subscribed on
  std::set<std::string> channels_;
  std::set<std::string> patterns_;
  std::string classic_home_;  // the master that holds the classic subscriptions
  bool started_ = false;
  StateHandler state_handler_;
  State state_ = State::Disconnected;
  std::string last_error_;
};

}  // namespace herald::redis
