// Users and nodes recorded in Redis, so a backend (and every node) can see who is online where:
//   user@<uid>               the user's latest socket id (the seed's key, for its backends)
//   herald:user:<uid>        hash socket id -> node uid, every device
//   herald:node:<node>       the node's heartbeat (expires if the node dies), JSON {address, pid}
//   herald:node:<node>:sockets  hash socket id -> uid, for cleaning up after a dead node
//   herald:nodes             set of node uids
// Each node sweeps now and then: entries of a node whose heartbeat expired are removed. After a
// Redis outage each node writes its entries again (Redis may have restarted empty).
// Logins are also published on the seed's `login` channel.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/cluster.hpp"
#include "push/room_directory.hpp"
#include "push/users.hpp"

namespace herald::cluster {

class Presence : public push::Presence, public std::enable_shared_from_this<Presence> {
 public:
  // Every `heartbeat` the node refreshes its record (which expires after three of them) and every
  // six it sweeps the records of dead nodes.
  Presence(Cluster& cluster, std::string nsp, std::string address,
           std::chrono::milliseconds heartbeat = std::chrono::seconds(5));
  void start();
  void logged_in(const std::string& uid, const std::string& socket_id) override;
  void logged_out(const std::string& uid, const std::string& socket_id) override;
  // From the nodes listed in Redis (a dead node stays listed until swept).
  void users_on_nodes_except(std::vector<std::string> counted,
                             std::function<void(std::vector<std::string> users)> done) override;
  // Removes what this node recorded (graceful shutdown).
  void forget_node();

 private:
  struct Login {
    std::string uid;
    uint64_t seq;  // login order
  };
  void heartbeat();
  void record_node();
  void sweep();
  // The entries of `node`'s sockets: all of them and the node's own (node_is_gone), or only those
  // of sockets no longer logged in here (this node, after an outage).
  void remove_sockets(const std::string& node, bool node_is_gone);
  void record_login(const std::string& uid, const std::string& socket_id, bool replace_latest);
  // After every (re)connection to Redis.
  void restore();

  Cluster& cluster_;
  std::string nsp_;
  std::string address_;
  std::chrono::milliseconds heartbeat_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  int ticks_ = 0;
  // This node's logins (socket id -> login), kept to record them again after a Redis outage.
  // Redis loop only.
  std::unordered_map<std::string, Login> logins_;
  uint64_t login_seq_ = 0;
};

// The seed's `room@<uid>` (a comma-separated list written by the backend) as the room directory.
class RedisRoomDirectory : public push::RoomDirectory {
 public:
  explicit RedisRoomDirectory(Cluster& cluster) : cluster_(cluster) {}
  void rooms_of(const std::string& uid, std::function<void(std::vector<std::string>)> done) override;
  void set_rooms(const std::string& uid, std::vector<std::string> rooms) override;
  void change_rooms(const std::string& uid, const std::vector<std::string>& joins,
                    const std::vector<std::string>& leaves) override;

 private:
  Cluster& cluster_;
};

}  // namespace herald::cluster
