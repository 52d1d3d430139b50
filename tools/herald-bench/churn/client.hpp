// One churning user: an Engine.IO + Socket.IO client over WebSocket that logs in, acks every
// event that asks for it, counts the run's pushes it receives, and behaves like socket.io-client
// 4.6+ towards connection state recovery (see RecoveryState). While the run churns, its TCP
// connection is reset every drop-every +- jitter ms; it then stays offline for offline-ms and
// reconnects, as do clients whose connection failed otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "churn/received_set.hpp"
#include "churn/recovery_state.hpp"
#include "churn/stats.hpp"
#include "socketio/packet.hpp"
#include "ws/connection.hpp"

namespace herald::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// What every client of one worker shares.
struct ChurnContext {
  asio::io_context& io;
  ChurnCounters& counters;
  LatencyHistogram& latency;  // every first receipt of a msgId by a client
  tcp::endpoint server;
  std::string host_header;  // "host:port"
  std::string target;       // the Engine.IO WebSocket request path and query
  std::string nsp;          // "/" or "/chat"
  std::string uid_prefix;
  std::string msg_id_prefix;  // the msgIds of this run's pushes: prefix + sequence number
  bool login_in_auth = false;
  std::chrono::milliseconds offline{2000};
  std::chrono::milliseconds drop_every{15000};
  std::chrono::milliseconds drop_jitter{5000};
  std::minstd_rand random;
  bool churning = false;  // drops happen only while the pushes go out

  // "" for the main namespace, else "/chat," (what packets carry before their payload).
  std::string nsp_prefix() const { return nsp == "/" ? std::string() : nsp + ","; }
};

class ChurnClient final : private ws::ConnectionEvents {
 public:
  ChurnClient(ChurnContext& context, uint64_t index);
  ChurnClient(const ChurnClient&) = delete;
  ChurnClient& operator=(const ChurnClient&) = delete;

  // Starts the first connection.
  void start();
  // The run started churning: a connected client schedules its first drop.
  void on_churn_started();
  ClientOutcome outcome() const;
  const ReceivedSet& received() const { return received_; }

 private:
  enum class State : uint8_t { Idle, Connecting, Opening, Connected, Offline };

  std::string uid() const { return context_.uid_prefix + std::to_string(index_); }
  void connect();
  void on_ws_message(std::string_view data, int64_t received_us) override;
  void on_ws_error(const boost::system::error_code& ec, bool connecting) override;
  void on_open(std::string_view json);
  void on_socketio(std::string_view text, int64_t received_us);
  void on_connected(const nlohmann::json& data, int64_t received_us);
  void on_event(const socketio::Packet& packet, int64_t received_us);
  void record_message(const nlohmann::json& args, int64_t received_us);
  void send(std::string_view packet) { connection_.send_text(packet); }
  void arm_deadline(std::chrono::milliseconds after);
  void schedule_drop();
  void drop();
  void lose(ErrorKind kind);
  void go_offline();

  ChurnContext& context_;
  uint64_t index_;
  State state_ = State::Idle;
  bool ever_connected_ = false;
  uint64_t generation_ = 0;  // timers started under an older one find it stale
  std::chrono::milliseconds ping_deadline_{45000};
  RecoveryState recovery_;
  // Events that came before the CONNECT answer (a recovered session's missed packets do):
  // socket.io-client handles them right after it, with the new pid.
  std::vector<socketio::Packet> early_events_;
  ReceivedSet received_;
  int64_t worst_latency_us_ = -1;
  ws::Connection connection_;
  asio::steady_timer deadline_;  // connect timeout, then the heartbeat deadline
  asio::steady_timer churn_;     // the next drop while connected, the reconnection while offline
};

}  // namespace herald::bench
