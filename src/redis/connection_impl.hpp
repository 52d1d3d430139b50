// The one implementation of redis::Connection, shared by its two source files: connection.cpp
// (lifecycle and the connect sequence: resolve, connect, TLS, handshake, reconnection with backoff)
// and pipeline.cpp (commands batched per loop turn, replies matched in order, pub/sub dispatch, the
// command deadline and the keepalive PING). Internal to src/redis.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "redis/connection.hpp"
#include "redis/resp.hpp"
#include "redis/transport.hpp"

namespace herald::redis {

class ConnectionImpl final : public Connection {
 public:
  ConnectionImpl(boost::asio::io_context& loop, Endpoint endpoint, Options options);
  ~ConnectionImpl() override;

  void start() override;
  void stop() override;
  void command(std::vector<std::string> args, ReplyHandler done) override;
  void subscribe(const std::string& channel) override;
  void psubscribe(const std::string& pattern) override;
  void unsubscribe(const std::string& channel) override;
  void ssubscribe(const std::string& channel) override;
  void sunsubscribe(const std::string& channel) override;
  void command_each_master(std::vector<std::string> args,
                           std::function<void(const std::vector<Reply>& replies)> done) override;
  void on_message(MessageHandler handler) override { message_handler_ = std::move(handler); }
  void on_state(StateHandler handler) override { state_handler_ = std::move(handler); }

  void reconnect(std::string reason) override;

  State state() const override { return state_; }
  std::string server() const override { return endpoint_.host + ":" + std::to_string(endpoint_.port); }
  const std::string& last_error() const override { return last_error_; }
  uint64_t reconnects() const override { return reconnects_; }

 private:
  using Clock = std::chrono::steady_clock;
  using error_code = boost::system::error_code;

  struct Pending {
    ReplyHandler done;  // may be empty
    Clock::time_point deadline;
    // SUBSCRIBE / PSUBSCRIBE get no reply but one confirmation per channel (or one error).
    size_t confirmations = 0;
  };

  static void fail_pending(const std::deque<Pending>& pending, const std::string& error);

  // Wraps a completion handler so that it runs only while this Connection exists and the
  // connection attempt that started the operation is still the current one.
  template <class F>
  auto in_attempt(F&& f) {
    return [weak = weak_from_this(), attempt = attempt_, f = std::forward<F>(f)](auto&&... args) mutable {
      std::shared_ptr<Connection> alive = weak.lock();  // also keeps it alive while f runs
      if (!alive || static_cast<ConnectionImpl*>(alive.get())->attempt_ != attempt) return;
      f(std::forward<decltype(args)>(args)...);
    };
  }

  // --- connection.cpp: lifecycle and connect sequence ---
  void make_tls_context();
  std::string not_connected_reason() const;
  void set_state(State state, const std::string& error);
  void connect();
  // The located (or configured) endpoint is in endpoint_: resolve and connect to it.
  void connect_located();
  void connect_to(const std::vector<boost::asio::ip::tcp::endpoint>& endpoints);
  void start_tls(const std::shared_ptr<Transport>& transport);
  // Everything the connection needs before it serves commands, pipelined in one write; the
  // closing PING's answer makes it Connected. The first error reply drops the attempt.
  void send_handshake();
  void set_connected();
  // The ROLE reply's verdict: empty when the server is a master, else why it is not one.
  std::string not_master(const Reply& reply) const;
  // Closes the socket, cancels every timer of the attempt and makes its pending handlers stale.
  void drop_transport();
  void fail(std::string error, const std::string& pending_error);
  std::chrono::milliseconds next_backoff();

  // --- pipeline.cpp: commands, replies, pub/sub, deadlines ---
  void send(const std::vector<std::string>& args, ReplyHandler done, size_t confirmations = 0);
  void send_subscription(const char* command, const std::string& name);
  void send_subscriptions(const char* command, const std::set<std::string>& names, ReplyHandler done);
  // Everything queued during one loop turn goes out in one write.
  void schedule_flush();
  void flush();
  void read();
  void on_read(error_code ec, const char* data, size_t size);
  void dispatch(const Reply& reply);
  void complete_front(const Reply& reply);
  // One timer watches the oldest command; the deadlines of the others are later.
  void arm_command_timer();
  void arm_ping_timer();

  boost::asio::io_context& loop_;
  Endpoint endpoint_;  // the host and port change when options_.locate is set
  const Options options_;
  std::string name_;  // the URL without the password, for logs

  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  std::string tls_error_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer command_timer_;
  boost::asio::steady_timer ping_timer_;
  boost::asio::steady_timer reconnect_timer_;

  std::shared_ptr<Transport> transport_;
  std::unique_ptr<ReplyReader> reader_;
  std::string out_;  // encoded commands not yet handed to a write
  std::deque<Pending> pending_;
  uint64_t attempt_ = 0;     // changes whenever the handlers of the current attempt become stale
  bool writable_ = false;    // transport up: commands may be written (handshake or Connected)
  bool subscribed_ = false;  // this connection sent SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE
  bool flush_posted_ = false;
  bool command_timer_armed_ = false;

  std::set<std::string> channels_;
  std::set<std::string> patterns_;
  std::set<std::string> shard_channels_;
  MessageHandler message_handler_;
  StateHandler state_handler_;

  State state_ = State::Disconnected;
  std::string last_error_;
  std::string logged_error_;
  bool started_ = false;
  bool attempted_ = false;
  bool connected_once_ = false;
  uint64_t reconnects_ = 0;
  std::chrono::milliseconds backoff_;
  std::minstd_rand random_;
};

// "250 ms": durations as the log and error texts write them.
inline std::string ms_text(std::chrono::milliseconds duration) { return std::to_string(duration.count()) + " ms"; }

}  // namespace herald::redis
