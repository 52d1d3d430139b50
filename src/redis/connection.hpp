// One small asynchronous Redis client on an Asio event loop: RESP parsing by hiredis' reader,
// commands pipelined with callbacks, pub/sub with subscriptions restored after a reconnect,
// reconnection with backoff and jitter, and a timeout on every command. It never throws and never
// blocks: while Redis is unreachable every command fails at once with an error reply, so callers
// can serve in a degraded mode and say which part could not be reached.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::redis {

struct Endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string username;  // ACL user (Redis 6+); empty: AUTH with the password only
  std::string password;
  int db = 0;
  bool tls = false;
};

// redis://[[user]:password@]host[:port][/db] or rediss:// (TLS). nullopt with `error` set when invalid.
std::optional<Endpoint> parse_url(std::string_view url, std::string& error);
// host:port (IPv6 as [addr]:port), as sentinels and cluster nodes are given.
std::optional<Endpoint> parse_address(std::string_view address, std::string& error);
// The URL with the password hidden, for logs.
std::string describe(const Endpoint& endpoint);

struct Reply {
  enum class Type : uint8_t { String, Status, Error, Integer, Nil, Array };
  Type type = Type::Nil;
  std::string str;  // String, Status, Error
  int64_t integer = 0;
  std::vector<Reply> elements;  // Array

  bool is_error() const { return type == Type::Error; }
  static Reply error(std::string text) { return Reply{Type::Error, std::move(text), 0, {}}; }
};

// Where a connection should go now, asked before every connection attempt (Sentinel: the master's
// address). `error` is set when it cannot be known; the attempt then fails and is retried.
struct Located {
  std::string host;
  uint16_t port = 0;
  std::string error;
};
using Locator = std::function<void(std::function<void(Located)> done)>;

struct Options {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  std::string client_name;  // CLIENT SETNAME, when set
  // While no command is waiting for a reply, a PING is sent this often, so that a dead Redis is
  // noticed (within ping_interval + command_timeout) also by a connection that only subscribes.
  // Zero: never.
  std::chrono::milliseconds ping_interval{3000};
  // rediss://: verify the server's certificate (system CA store) and host name. Off by default,
  // as managed Redis services often use private CAs.
  bool tls_verify = false;
  // Set: the endpoint's host and port come from here at each attempt (its credentials, db and
  // TLS stay).
  Locator locate;
  // The server must be a master (ROLE), checked at connect and with each keepalive while no
  // subscription is on: a master that came back as a replica after a failover is left.
  bool require_master = false;
};

enum class State : uint8_t { Connecting, Connected, Disconnected, Stopped };

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using ReplyHandler = std::function<void(const Reply&)>;
  // (pattern, channel, payload); pattern is empty for SUBSCRIBE messages.
  using MessageHandler =
      std::function<void(std::string_view pattern, std::string_view channel, std::string_view payload)>;
  // Called on every state change; `error` says why a connection was lost or refused
  // ("connection refused", "timeout", "READONLY ...", "WRONGPASS ...", ...).
  using StateHandler = std::function<void(State state, std::string_view error)>;

  static std::shared_ptr<Connection> create(boost::asio::io_context& loop, Endpoint endpoint, Options options = {});
  virtual ~Connection() = default;

  // Connects, then keeps reconnecting until stop(). Handlers must be set before start().
  virtual void start() = 0;
  virtual void stop() = 0;

  // Sends a command (pipelined). `done` runs on the loop exactly once: with the reply, or with an
  // error reply if not connected, on timeout, or when the connection is lost before the reply.
  virtual void command(std::vector<std::string> args, ReplyHandler done) = 0;
  // The command on every master (one server: on it), replies in no particular order; `done` runs
  // once, with an error reply for each master that could not answer.
  virtual void command_each_master(std::vector<std::string> args,
                                   std::function<void(const std::vector<Reply>& replies)> done) = 0;

  // Pub/sub: a connection that subscribes is used for nothing else. Subscriptions are kept and
  // re-issued after every reconnect.
  virtual void subscribe(const std::string& channel) = 0;
  virtual void psubscribe(const std::string& pattern) = 0;
  // Leaves a channel (and stops re-issuing it after reconnects).
  virtual void unsubscribe(const std::string& channel) = 0;
  // Sharded pub/sub (Redis 7): SSUBSCRIBE / SUNSUBSCRIBE, each channel on its own (a command may
  // only name channels of one slot). Messages come to on_message with an empty pattern.
  virtual void ssubscribe(const std::string& channel) = 0;
  virtual void sunsubscribe(const std::string& channel) = 0;
  virtual void on_message(MessageHandler handler) = 0;
  virtual void on_state(StateHandler handler) = 0;

  // Drops the connection (if any) and connects again at once, with the backoff reset: the server
  // is elsewhere now (a failover). Stays stopped when stopped.
  virtual void reconnect(std::string reason) = 0;

  virtual State state() const = 0;
  // host:port of the server in use, or of the last one tried.
  virtual std::string server() const = 0;
  virtual const std::string& last_error() const = 0;
  // Connection attempts after the first one (successful or not).
  virtual uint64_t reconnects() const = 0;
  // Redis Cluster redirections (MOVED / ASK) followed.
  virtual uint64_t redirects() const { return 0; }
};

}  // namespace herald::redis
