// Users and nodes recorded in Redis, so a backend (and every node) can see who is online where:
//   user@<uid>               the user's latest socket id (the seed's key, for its backends)
//   herald:user:<uid>        hash socket id -> node uid, every device online
//   herald:node:<node>       the node's heartbeat (expires if the node dies), JSON {address, pid}
//   herald:node:<node>:sockets  hash socket id -> uid: the node's sockets, and those that dropped
//                            and may still come back (a recovery session, for the window)
//   herald:nodes             set of node uids
//   herald:nodes:gone        set of nodes that died or stopped, whose socket lists are kept (with an
//                            expiry of one recovery window) so that acked pushes to all or to rooms
//                            sent while their users are away are still kept for them
// Each node sweeps now and then: a node whose heartbeat expired is moved to herald:nodes:gone and
// its users' online entries removed; a gone node whose list expired leaves the set. After a Redis
// outage each node writes its entries again (Redis may have restarted empty).
// Logins are also published on the seed's `login` channel.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
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
  // six it sweeps the records of dead nodes. `recovery_window`: how long a dropped socket (and the
  // list of a node that is gone) stays listed; 0 lists none.
  Presence(Cluster& cluster, std::string nsp, std::string address,
           std::chrono::milliseconds heartbeat = std::chrono::seconds(5),
           std::chrono::milliseconds recovery_window = std::chrono::milliseconds(0));
  void start();
  void logged_in(const std::string& uid, const std::string& socket_id) override;
  void logged_out(const std::string& uid, const std::string& socket_id) override;
  void dropped(const std::string& uid, const std::string& socket_id) override;
  // From the nodes listed in Redis (a dead node stays listed until swept) and the gone ones.
  void users_on_nodes_except(std::vector<std::string> counted,
                             std::function<void(std::vector<std::string> users)> done) override;
  std::string node() const override { return cluster_.uid(); }
  // Graceful shutdown: this node is gone (its users' online entries removed, its list kept for the
  // window, since its clients come back elsewhere).
  void forget_node();

 private:
  struct Login {
    std::string uid;
    uint64_t seq;  // login order
  };
  struct Dropped {
    std::string uid;
    std::chrono::steady_clock::time_point until;  // its recovery session's end
  };
  void heartbeat();
  void record_node();
  void sweep();
  // Moves a dead or stopped `node` to herald:nodes:gone: its users' online entries are removed,
  // its socket list is kept for the recovery window.
  void retire_node(const std::string& node);
  // Nodes of herald:nodes:gone whose socket list expired leave it.
  void forget_gone_nodes();
  // This node, after an outage: the entries of sockets neither logged in nor dropped here.
  void remove_stale_sockets();
  // Dropped sockets whose recovery session ended leave this node's list.
  void expire_dropped();
  // The users listed by each of `nodes`, together.
  void users_of_nodes(const std::vector<std::string>& nodes, std::function<void(std::vector<std::string>)> done);
  void remove_online_entry(const std::string& uid, const std::string& socket_id);
  void record_login(const std::string& uid, const std::string& socket_id, bool replace_latest);
  // After every (re)connection to Redis.
  void restore();

  Cluster& cluster_;
  std::string nsp_;
  std::string address_;
  std::chrono::milliseconds heartbeat_;
  std::chrono::milliseconds recovery_window_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  int ticks_ = 0;
  bool stopped_ = false;  // forget_node: no more heartbeats
  // This node's logins (socket id -> login), kept to record them again after a Redis outage.
  // Redis loop only.
  std::unordered_map<std::string, Login> logins_;
  // This node's dropped sockets still listed (socket id -> user, until). Redis loop only.
  std::unordered_map<std::string, Dropped> dropped_;
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
