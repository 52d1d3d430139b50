// The Redis connection: one socket (TCP, or TLS for rediss://) on one event loop. Owns the connect
// sequence (resolve, connect, TLS, AUTH / SELECT / CLIENT SETNAME, subscriptions restored), the
// pipeline (commands batched per loop turn, replies matched in order), the command deadline, the
// keepalive PING, pub/sub dispatch, and reconnection with backoff.
#include "redis/connection.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <random>
#include <set>
#include <utility>

#include "redis/resp.hpp"
#include "redis/transport.hpp"

namespace herald::redis {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr size_t kKeptWriteBuffer = 1 << 20;  // a larger write buffer is released after use

std::string ms_text(std::chrono::milliseconds duration) { return std::to_string(duration.count()) + " ms"; }

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::string describe_error(const error_code& ec) {
  if (ec == asio::error::eof || ec == ssl::error::stream_truncated) return "connection closed by the server";
  return ec.message();
}

class ConnectionImpl final : public Connection {
 public:
  ConnectionImpl(asio::io_context& loop, Endpoint endpoint, Options options)
      : loop_(loop),
        endpoint_(std::move(endpoint)),
        options_(std::move(options)),
        name_(describe(endpoint_)),
        resolver_(loop),
        connect_timer_(loop),
        command_timer_(loop),
        ping_timer_(loop),
        reconnect_timer_(loop),
        backoff_(options_.reconnect_min),
        random_(std::random_device{}()) {
    if (endpoint_.tls) make_tls_context();
  }

  ~ConnectionImpl() override {
    if (transport_) transport_->close();
    if (!pending_.empty()) {
      asio::post(loop_, [pending = std::move(pending_)] { fail_pending(pending, "redis connection stopped"); });
    }
  }

  void start() override {
    if (started_) return;
    started_ = true;
    backoff_ = options_.reconnect_min;
    connect();
  }

  void stop() override {
    if (state_ == State::Stopped) return;
    started_ = false;
    drop_transport();
    reconnect_timer_.cancel();
    last_error_ = "stopped";
    auto pending = std::exchange(pending_, {});
    if (!pending.empty()) {
      asio::post(loop_, [pending = std::move(pending)] { fail_pending(pending, "redis connection stopped"); });
    }
    spdlog::debug("redis: {}: stopped", name_);
    set_state(State::Stopped, "");
  }

  void command(std::vector<std::string> args, ReplyHandler done) override {
    if (state_ != State::Connected || args.empty()) {
      std::string error = args.empty() ? "redis: empty command" : "redis not connected: " + not_connected_reason();
      asio::post(loop_, [done = std::move(done), error = std::move(error)] {
        if (done) done(Reply::error(error));
      });
      return;
    }
    send(args, std::move(done));
  }

  void subscribe(const std::string& channel) override {
    if (channels_.insert(channel).second && writable_) send_subscription("SUBSCRIBE", channel);
  }

  void psubscribe(const std::string& pattern) override {
    if (patterns_.insert(pattern).second && writable_) send_subscription("PSUBSCRIBE", pattern);
  }

  void unsubscribe(const std::string& channel) override {
    if (channels_.erase(channel) > 0 && writable_) send_subscription("UNSUBSCRIBE", channel);
  }

  void on_message(MessageHandler handler) override { message_handler_ = std::move(handler); }
  void on_state(StateHandler handler) override { state_handler_ = std::move(handler); }

  State state() const override { return state_; }
  const std::string& last_error() const override { return last_error_; }
  uint64_t reconnects() const override { return reconnects_; }

 private:
  struct Pending {
    ReplyHandler done;  // may be empty
    Clock::time_point deadline;
    // SUBSCRIBE / PSUBSCRIBE get no reply but one confirmation per channel (or one error).
    size_t confirmations = 0;
  };

  static void fail_pending(const std::deque<Pending>& pending, const std::string& error) {
    Reply reply = Reply::error(error);
    for (const Pending& entry : pending) {
      if (entry.done) entry.done(reply);
    }
  }

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

  void make_tls_context() {
    try {
      tls_context_ = std::make_unique<ssl::context>(ssl::context::tls_client);
      if (options_.tls_verify) {
        tls_context_->set_default_verify_paths();
        tls_context_->set_verify_mode(ssl::verify_peer);
      } else {
        tls_context_->set_verify_mode(ssl::verify_none);
      }
    } catch (const boost::system::system_error& e) {
      tls_error_ = std::string("cannot set up TLS: ") + e.what();
      tls_context_.reset();
    }
  }

  std::string not_connected_reason() const {
    if (!last_error_.empty()) return last_error_;
    return state_ == State::Connecting ? "connecting" : "not started";
  }

  void set_state(State state, const std::string& error) {
    state_ = state;
    if (state_handler_) {
      StateHandler handler = state_handler_;  // it may replace itself
      handler(state, error);
    }
  }

  // --- Connect sequence -------------------------------------------------------------------

  void connect() {
    if (attempted_) ++reconnects_;  // every attempt after the first
    attempted_ = true;
    ++attempt_;
    transport_ = std::make_shared<Transport>(loop_, tls_context_.get());
    reader_ = std::make_unique<ReplyReader>();
    out_.clear();
    flush_posted_ = false;
    command_timer_armed_ = false;
    subscribed_ = false;
    set_state(State::Connecting, "");
    if (state_ != State::Connecting) return;  // the state handler stopped us

    if (endpoint_.tls && !tls_context_) {
      fail(tls_error_, "redis connection lost: " + tls_error_);
      return;
    }
    connect_timer_.expires_after(options_.connect_timeout);
    connect_timer_.async_wait(in_attempt([this](error_code ec) {
      if (ec) return;
      std::string error = "connect timeout: " + name_ + " not ready within " + ms_text(options_.connect_timeout);
      fail(error, "redis connection lost: " + error);
    }));

    error_code ec;
    asio::ip::address address = asio::ip::make_address(endpoint_.host, ec);
    if (!ec) {
      connect_to({tcp::endpoint(address, endpoint_.port)});
      return;
    }
    resolver_.async_resolve(endpoint_.host, std::to_string(endpoint_.port),
                            in_attempt([this](error_code resolve_ec, const tcp::resolver::results_type& results) {
                              if (resolve_ec) {
                                std::string error = "cannot resolve " + endpoint_.host + ": " + resolve_ec.message();
                                fail(error, "redis connection lost: " + error);
                                return;
                              }
                              connect_to(std::vector<tcp::endpoint>(results.begin(), results.end()));
                            }));
  }

  void connect_to(std::vector<tcp::endpoint> endpoints) {
    auto transport = transport_;
    asio::async_connect(transport->socket(), endpoints,
                        in_attempt([this, transport](error_code ec, const tcp::endpoint&) {
                          if (ec) {
                            std::string error = "cannot connect to " + name_ + ": " + ec.message();
                            fail(error, "redis connection lost: " + error);
                            return;
                          }
                          error_code ignored;
                          transport->socket().set_option(tcp::no_delay(true), ignored);
                          transport->socket().set_option(asio::socket_base::keep_alive(true), ignored);
                          if (transport->tls() == nullptr) {
                            send_handshake();
                            return;
                          }
                          start_tls(transport);
                        }));
  }

  void start_tls(const std::shared_ptr<Transport>& transport) {
    Transport::TlsStream& tls = *transport->tls();
    error_code ec;
    asio::ip::make_address(endpoint_.host, ec);
    if (ec) SSL_set_tlsext_host_name(tls.native_handle(), endpoint_.host.c_str());  // SNI: names only
    if (options_.tls_verify) tls.set_verify_callback(ssl::host_name_verification(endpoint_.host));
    tls.async_handshake(ssl::stream_base::client, in_attempt([this, transport](error_code handshake_ec) {
                          if (handshake_ec) {
                            std::string error = "TLS handshake with " + name_ + " failed: " + handshake_ec.message();
                            fail(error, "redis connection lost: " + error);
                            return;
                          }
                          send_handshake();
                        }));
  }

  // Everything the connection needs before it serves commands, pipelined in one write; the
  // closing PING's answer makes it Connected. The first error reply drops the attempt.
  void send_handshake() {
    writable_ = true;
    read();
    auto fatal = [this](std::string step) {
      return in_attempt([this, step = std::move(step)](const Reply& reply) {
        if (reply.is_error()) fail(step + reply.str, "redis connection lost: " + step + reply.str);
      });
    };
    if (!endpoint_.password.empty() || !endpoint_.username.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!endpoint_.username.empty()) auth.push_back(endpoint_.username);
      auth.push_back(endpoint_.password);
      send(auth, in_attempt([this](const Reply& reply) {
             if (!reply.is_error()) return;
             // A password configured for a Redis that has none is not worth refusing to work.
             if (reply.str.find("no password is set") != std::string::npos ||
                 reply.str.find("without any password configured") != std::string::npos) {
               spdlog::warn("redis: {}: {}", name_, reply.str);
               return;
             }
             fail(reply.str, "redis connection lost: " + reply.str);
           }));
    }
    if (endpoint_.db != 0)
      send({"SELECT", std::to_string(endpoint_.db)}, fatal("SELECT " + std::to_string(endpoint_.db) + ": "));
    if (!options_.client_name.empty()) {
      send({"CLIENT", "SETNAME", options_.client_name}, [name = name_](const Reply& reply) {
        if (reply.is_error()) spdlog::warn("redis: {}: CLIENT SETNAME: {}", name, reply.str);
      });
    }
    if (!channels_.empty()) send_subscriptions("SUBSCRIBE", channels_, fatal("SUBSCRIBE: "));
    if (!patterns_.empty()) send_subscriptions("PSUBSCRIBE", patterns_, fatal("PSUBSCRIBE: "));
    send({"PING"}, in_attempt([this](const Reply& reply) {
           if (reply.is_error()) {
             fail(reply.str, "redis connection lost: " + reply.str);
             return;
           }
           set_connected();
         }));
  }

  void set_connected() {
    connect_timer_.cancel();
    backoff_ = options_.reconnect_min;
    if (connected_once_) {
      spdlog::info("redis: {}: reconnected", name_);
    } else {
      spdlog::info("redis: {}: connected", name_);
    }
    connected_once_ = true;
    last_error_.clear();
    logged_error_.clear();
    arm_ping_timer();
    set_state(State::Connected, "");
  }

  // --- Losing the connection --------------------------------------------------------------

  // Closes the socket, cancels every timer of the attempt and makes its pending handlers stale.
  void drop_transport() {
    ++attempt_;
    if (transport_) transport_->close();
    transport_.reset();
    reader_.reset();
    resolver_.cancel();
    connect_timer_.cancel();
    command_timer_.cancel();
    ping_timer_.cancel();
    command_timer_armed_ = false;
    flush_posted_ = false;
    writable_ = false;
    subscribed_ = false;
    out_.clear();
  }

  void fail(std::string error, const std::string& pending_error) {
    if (state_ == State::Stopped || !started_) return;
    bool was_connected = state_ == State::Connected;
    drop_transport();
    auto delay = next_backoff();
    if (was_connected || error != logged_error_) {
      spdlog::warn("redis: {}: {}{}; reconnecting in {}", name_, was_connected ? "connection lost: " : "", error,
                   ms_text(delay));
      logged_error_ = error;
    } else {
      spdlog::debug("redis: {}: {}; reconnecting in {}", name_, error, ms_text(delay));
    }
    last_error_ = std::move(error);
    auto pending = std::exchange(pending_, {});

    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait(in_attempt([this](error_code ec) {
      if (!ec && started_ && state_ == State::Disconnected) connect();
    }));
    std::string state_error = last_error_;
    set_state(State::Disconnected, state_error);
    fail_pending(pending, pending_error);
  }

  std::chrono::milliseconds next_backoff() {
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    auto delay =
        std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(backoff_.count()) * jitter(random_)));
    backoff_ = std::min(backoff_ * 2, std::max(options_.reconnect_max, options_.reconnect_min));
    return delay;
  }

  // --- Pipeline ---------------------------------------------------------------------------

  void send(const std::vector<std::string>& args, ReplyHandler done, size_t confirmations = 0) {
    if (!encode_command(args, out_)) {
      asio::post(loop_, [done = std::move(done)] {
        if (done) done(Reply::error("redis: cannot encode command"));
      });
      return;
    }
    pending_.push_back(Pending{std::move(done), Clock::now() + options_.command_timeout, confirmations});
    arm_command_timer();
    schedule_flush();
  }

  void send_subscription(const char* command, const std::string& name) {
    subscribed_ = true;
    send(
        {command, name},
        [connection = name_, command = std::string(command)](const Reply& reply) {
          if (reply.is_error()) spdlog::warn("redis: {}: {}: {}", connection, command, reply.str);
        },
        1);
  }

  void send_subscriptions(const char* command, const std::set<std::string>& names, ReplyHandler done) {
    subscribed_ = true;
    std::vector<std::string> args{command};
    args.insert(args.end(), names.begin(), names.end());
    send(args, std::move(done), names.size());
  }

  // Everything queued during one loop turn goes out in one write.
  void schedule_flush() {
    if (flush_posted_ || !transport_ || transport_->writing) return;
    flush_posted_ = true;
    asio::post(loop_, in_attempt([this] {
                 flush_posted_ = false;
                 flush();
               }));
  }

  void flush() {
    if (!transport_ || transport_->writing || out_.empty()) return;
    auto transport = transport_;
    transport->write_buffer.swap(out_);
    out_.clear();
    transport->writing = true;
    transport->write(in_attempt([this, transport](error_code ec, size_t) {
      transport->writing = false;
      if (transport->write_buffer.capacity() > kKeptWriteBuffer) {
        std::string().swap(transport->write_buffer);
      } else {
        transport->write_buffer.clear();
      }
      if (ec) {
        std::string error = describe_error(ec);
        fail(error, "redis connection lost: " + error);
        return;
      }
      flush();  // what was queued meanwhile
    }));
  }

  void read() {
    auto transport = transport_;
    transport->read(in_attempt(
        [this, transport](error_code ec, size_t size) { on_read(ec, transport->read_buffer.data(), size); }));
  }

  void on_read(error_code ec, const char* data, size_t size) {
    if (ec) {
      std::string error = describe_error(ec);
      fail(error, "redis connection lost: " + error);
      return;
    }
    if (!reader_->feed(data, size)) {
      std::string error = "protocol error: " + reader_->error();
      fail(error, "redis connection lost: " + error);
      return;
    }
    const uint64_t attempt = attempt_;
    Reply reply;
    while (true) {
      ReplyReader::Result result = reader_->next(reply);
      if (result == ReplyReader::Result::NeedMore) break;
      if (result == ReplyReader::Result::Error) {
        std::string error = "protocol error: " + reader_->error();
        fail(error, "redis connection lost: " + error);
        return;
      }
      dispatch(reply);
      if (attempt_ != attempt) return;  // a handler dropped or stopped the connection
    }
    read();
  }

  void dispatch(const Reply& reply) {
    if (subscribed_ && reply.type == Reply::Type::Array && !reply.elements.empty() &&
        reply.elements[0].type == Reply::Type::String) {
      const std::vector<Reply>& parts = reply.elements;
      std::string_view kind = parts[0].str;
      if (kind == "message" && parts.size() == 3) {
        if (message_handler_) message_handler_({}, parts[1].str, parts[2].str);
        return;
      }
      if (kind == "pmessage" && parts.size() == 4) {
        if (message_handler_) message_handler_(parts[1].str, parts[2].str, parts[3].str);
        return;
      }
      if (kind == "subscribe" || kind == "psubscribe" || kind == "unsubscribe" || kind == "punsubscribe") {
        if (!pending_.empty() && pending_.front().confirmations > 0 && --pending_.front().confirmations == 0) {
          complete_front(reply);
        }
        return;
      }
    }
    if (pending_.empty()) {
      std::string error = "protocol error: a reply that no command waits for";
      fail(error, "redis connection lost: " + error);
      return;
    }
    const uint64_t attempt = attempt_;
    complete_front(reply);
    // A replica after a failover: the master is now elsewhere, probably behind the same address.
    if (attempt_ == attempt && reply.is_error() && starts_with(reply.str, "READONLY")) {
      fail(reply.str, "redis connection lost: " + reply.str);
    }
  }

  void complete_front(const Reply& reply) {
    ReplyHandler done = std::move(pending_.front().done);
    pending_.pop_front();
    if (done) done(reply);
  }

  // One timer watches the oldest command; the deadlines of the others are later.
  void arm_command_timer() {
    if (command_timer_armed_ || pending_.empty()) return;
    command_timer_armed_ = true;
    command_timer_.expires_at(pending_.front().deadline);
    command_timer_.async_wait(in_attempt([this](error_code ec) {
      command_timer_armed_ = false;
      if (ec || pending_.empty()) return;
      if (pending_.front().deadline <= Clock::now()) {
        fail("timeout: no reply within " + ms_text(options_.command_timeout), "redis timeout");
        return;
      }
      arm_command_timer();
    }));
  }

  void arm_ping_timer() {
    if (options_.ping_interval.count() <= 0) return;
    ping_timer_.expires_after(options_.ping_interval);
    ping_timer_.async_wait(in_attempt([this](error_code ec) {
      if (ec || state_ != State::Connected) return;
      if (pending_.empty()) send({"PING"}, nullptr);
      arm_ping_timer();
    }));
  }

  asio::io_context& loop_;
  const Endpoint endpoint_;
  const Options options_;
  const std::string name_;  // the URL without the password, for logs

  std::unique_ptr<ssl::context> tls_context_;
  std::string tls_error_;
  tcp::resolver resolver_;
  asio::steady_timer connect_timer_;
  asio::steady_timer command_timer_;
  asio::steady_timer ping_timer_;
  asio::steady_timer reconnect_timer_;

  std::shared_ptr<Transport> transport_;
  std::unique_ptr<ReplyReader> reader_;
  std::string out_;  // encoded commands not yet handed to a write
  std::deque<Pending> pending_;
  uint64_t attempt_ = 0;     // changes whenever the handlers of the current attempt become stale
  bool writable_ = false;    // transport up: commands may be written (handshake or Connected)
  bool subscribed_ = false;  // this connection sent SUBSCRIBE / PSUBSCRIBE
  bool flush_posted_ = false;
  bool command_timer_armed_ = false;

  std::set<std::string> channels_;
  std::set<std::string> patterns_;
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

}  // namespace

std::shared_ptr<Connection> Connection::create(boost::asio::io_context& loop, Endpoint endpoint, Options options) {
  return std::make_shared<ConnectionImpl>(loop, std::move(endpoint), std::move(options));
}

}  // namespace herald::redis
