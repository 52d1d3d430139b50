// The server side of the official Socket.IO Admin UI (@socket.io/admin-ui 0.5): its namespace
// (/admin), login, `config`, `server_stats` every 2 s, `all_sockets`, the socket, room and event
// notices, and the emit/join/leave/_disconnect commands, as the package's instrument() does for a
// Node server. It watches the server through socketio::ServerObserver; what it tells the UI goes
// out as broadcasts on its namespace, so in a cluster every node's notices and stats reach every
// UI, and the commands act on every node through the namespaces' adapters.
#pragma once

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "admin/credentials.hpp"
#include "admin/serialize.hpp"
#include "socketio/observer.hpp"
#include "socketio/server.hpp"

namespace herald::admin {

struct Options {
  std::string nsp = "/admin";
  Credentials credentials{"", ""};
  bool read_only = false;  // no commands: the UI shows, and cannot act
  // development (as the package's default): every socket, room and event is told to the UI;
  // production: the stats alone, which cost nothing per socket.
  bool development = true;
  std::string server_id;  // names this node in the UI
  bool secure = false;    // the port speaks TLS (handshake.secure)
  std::chrono::milliseconds stats_interval{2000};
};

class AdminUi : public socketio::ServerObserver {
 public:
  // Creates the namespace and watches `io`: before the loops run.
  AdminUi(socketio::Server& io, Options options);
  ~AdminUi() override;
  AdminUi(const AdminUi&) = delete;
  AdminUi& operator=(const AdminUi&) = delete;

  socketio::Namespace& nsp() { return nsp_; }
  // Sends the stats now and every stats_interval.
  void start();
  // From any thread; the stats stop (the loops may already be gone).
  void stop();

  // The features config announces, as instrument() computes them.
  std::vector<std::string> features() const;

  // ---- socketio::ServerObserver ----
  void session_closed(size_t loop, socketio::DisconnectReason reason) override;
  void socket_connected(socketio::Socket& socket) override;
  void socket_disconnected(socketio::Socket& socket, socketio::DisconnectReason reason) override;
  void socket_upgraded(socketio::Socket& socket) override;
  void room_joined(socketio::Socket& socket, const std::string& room) override;
  void room_left(socketio::Socket& socket, const std::string& room) override;
  void event_received(socketio::Socket& socket, const Json& event_and_args) override;
  void event_sent(socketio::Socket& socket, std::string_view event, const Json& args) override;

 private:
  // A loop's own: read and written there only.
  struct alignas(64) LoopState {
    std::unordered_map<const socketio::Socket*, int64_t> connected_ms;  // development mode only
    std::vector<std::pair<std::string, uint64_t>> disconnections;       // by reason, since the last stats
  };
  // What one loop reports for the stats.
  struct LoopReport {
    socketio::LoopTraffic traffic;
    std::vector<std::pair<std::string, uint64_t>> disconnections;
    std::vector<size_t> sockets;  // per namespace, in namespaces_ order
  };

  void authenticate(socketio::Socket& socket, std::function<void(std::optional<Json>)> next);
  void accept_login(socketio::Socket& socket, const std::function<void(std::optional<Json>)>& next);
  void on_admin_connected(const std::shared_ptr<socketio::Socket>& socket);
  void register_commands();
  void send_all_sockets(const std::shared_ptr<socketio::Socket>& admin);
  void schedule_stats();
  void collect_stats();
  void emit_stats(std::vector<LoopReport>& reports);
  Json serialize_local(socketio::Socket& socket);
  void tell(std::string_view event, Json args);

  socketio::Server& io_;
  Options options_;
  socketio::Namespace& nsp_;
  std::vector<socketio::Namespace*> namespaces_;  // fixed once the loops run
  std::vector<LoopState> loops_;
  int64_t started_ms_;
  std::string hostname_;
  // Sessions a login opened (the UI comes back with one instead of the password), oldest first.
  std::mutex sessions_mutex_;
  std::unordered_set<std::string> sessions_;
  std::deque<std::string> session_order_;
  // bcrypt checks run here, one at a time, off the loops; at most kMaxPendingChecks wait.
  boost::asio::thread_pool checker_{1};
  std::atomic<int> pending_checks_{0};
  std::unique_ptr<boost::asio::steady_timer> stats_timer_;
  std::atomic<bool> stopped_{false};
};

}  // namespace herald::admin
