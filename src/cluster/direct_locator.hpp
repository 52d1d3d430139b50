// Where a push to users should go without a cluster-wide broadcast: the nodes that presence
// (cluster/presence.hpp) records for the users' sockets, with their internal addresses, and
// whether the cluster is made of Herald nodes only (a Node socket.io server in it records no
// presence, so its users are reached only through the adapter protocol). All Redis work runs on
// the Redis loop; answers go to the loop that asked.
#pragma once

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/cluster.hpp"

namespace herald::cluster {

class RedisAdapter;

class DirectLocator : public std::enable_shared_from_this<DirectLocator> {
 public:
  struct Node {
    std::string uid;
    std::string host;
    uint16_t port = 0;
    std::vector<std::string> users;  // of the users asked for, those with a socket there
  };
  struct Located {
    // Every user has a socket recorded on some node, and every such node's address is known.
    bool sure = false;
    std::vector<Node> others;  // nodes other than this one that hold sockets of the users
  };

  // `adapter`: the push namespace's, which counts the servers on its channels.
  DirectLocator(Cluster& cluster, std::shared_ptr<RedisAdapter> adapter, std::chrono::milliseconds check_every);
  // Before the cluster starts: checks the cluster's make-up now and then, and on every reconnection.
  void start();
  // Any thread: as last checked, every server on the push namespace's channels is a live Herald node.
  bool herald_only() const { return herald_only_.load(std::memory_order_relaxed); }
  // Any thread: `done` runs on loop `origin` with where the users' sockets are.
  void locate(const std::vector<std::string>& users, size_t origin, std::function<void(Located&)> done);

  // "host:port" as presence records a node's address; nullopt-like {"" , 0} when it is not one.
  static std::pair<std::string, uint16_t> split_address(std::string_view address);

 private:
  struct Lookup;
  void check();
  void schedule_check();
  void resolve_addresses(const std::shared_ptr<Lookup>& lookup);
  void answer(const std::shared_ptr<Lookup>& lookup);

  static constexpr std::chrono::milliseconds kUnsureRecheck{1000};

  Cluster& cluster_;
  std::shared_ptr<RedisAdapter> adapter_;
  std::chrono::milliseconds check_every_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::atomic<bool> herald_only_{false};
  // Redis loop: node uid -> internal address (a node's address never changes while it lives).
  std::unordered_map<std::string, std::pair<std::string, uint16_t>> addresses_;
};

}  // namespace herald::cluster
