// The Redis connection's lifecycle and connect sequence: resolve, connect, TLS, AUTH / SELECT /
// CLIENT SETNAME, subscriptions restored, and reconnection with backoff and jitter. The pipeline
// (commands, replies, pub/sub) is in pipeline.cpp.
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>

#include "redis/connection_impl.hpp"

namespace herald::redis {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

}  // namespace

ConnectionImpl::ConnectionImpl(asio::io_context& loop, Endpoint endpoint, Options options)
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

ConnectionImpl::~ConnectionImpl() {
  if (transport_) transport_->close();
  if (!pending_.empty()) {
    asio::post(loop_, [pending = std::move(pending_)] { fail_pending(pending, "redis connection stopped"); });
  }
}

void ConnectionImpl::start() {
  if (started_) return;
  started_ = true;
  backoff_ = options_.reconnect_min;
  connect();
}

void ConnectionImpl::stop() {
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

void ConnectionImpl::fail_pending(const std::deque<Pending>& pending, const std::string& error) {
  Reply reply = Reply::error(error);
  for (const Pending& entry : pending) {
    if (entry.done) entry.done(reply);
  }
}

void ConnectionImpl::make_tls_context() {
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

std::string ConnectionImpl::not_connected_reason() const {
  if (!last_error_.empty()) return last_error_;
  return state_ == State::Connecting ? "connecting" : "not started";
}

void ConnectionImpl::set_state(State state, const std::string& error) {
  state_ = state;
  if (state_handler_) {
    StateHandler handler = state_handler_;  // it may replace itself
    handler(state, error);
  }
}

// --- Connect sequence -------------------------------------------------------------------------

void ConnectionImpl::connect() {
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
  if (!options_.locate) {
    connect_located();
    return;
  }
  options_.locate(in_attempt([this](const Located& located) {
    if (!located.error.empty()) {
      fail(located.error, "redis connection lost: " + located.error);
      return;
    }
    if (located.host != endpoint_.host || located.port != endpoint_.port) {
      endpoint_.host = located.host;
      endpoint_.port = located.port;
      name_ = describe(endpoint_);
      spdlog::info("redis: using {}", name_);
    }
    connect_located();
  }));
}

void ConnectionImpl::connect_located() {
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

void ConnectionImpl::connect_to(const std::vector<tcp::endpoint>& endpoints) {
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

void ConnectionImpl::start_tls(const std::shared_ptr<Transport>& transport) {
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

void ConnectionImpl::send_handshake() {
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
  if (options_.require_master) {
    send({"ROLE"}, in_attempt([this](const Reply& reply) {
           std::string why = not_master(reply);
           if (!why.empty()) fail(why, "redis connection lost: " + why);
         }));
  }
  if (!channels_.empty()) send_subscriptions("SUBSCRIBE", channels_, fatal("SUBSCRIBE: "));
  if (!patterns_.empty()) send_subscriptions("PSUBSCRIBE", patterns_, fatal("PSUBSCRIBE: "));
  // One by one: a slot may have moved (MOVED), which is logged, not fatal; the cluster's
  // subscriptions follow the slot map.
  for (const auto& channel : shard_channels_) send_subscription("SSUBSCRIBE", channel);
  send({"PING"}, in_attempt([this](const Reply& reply) {
         if (reply.is_error()) {
           fail(reply.str, "redis connection lost: " + reply.str);
           return;
         }
         set_connected();
       }));
}

void ConnectionImpl::set_connected() {
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

std::string ConnectionImpl::not_master(const Reply& reply) const {
  if (reply.is_error()) return "ROLE: " + reply.str;
  if (reply.type != Reply::Type::Array || reply.elements.empty()) return "ROLE: an unexpected reply";
  const std::string& role = reply.elements[0].str;
  if (role == "master") return {};
  return server() + " is a " + role + ", not the master";
}

void ConnectionImpl::reconnect(std::string reason) {
  asio::post(loop_, [weak = weak_from_this(), reason = std::move(reason)] {
    std::shared_ptr<Connection> alive = weak.lock();
    if (!alive) return;
    auto* self = static_cast<ConnectionImpl*>(alive.get());
    if (!self->started_ || self->state_ == State::Stopped) return;
    if (self->state_ != State::Disconnected) self->fail(reason, "redis connection lost: " + reason);
    if (self->state_ != State::Disconnected) return;  // the state handler stopped it
    self->reconnect_timer_.cancel();
    self->backoff_ = self->options_.reconnect_min;
    self->connect();
  });
}

// --- Losing the connection --------------------------------------------------------------------

void ConnectionImpl::drop_transport() {
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

void ConnectionImpl::fail(std::string error, const std::string& pending_error) {
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

std::chrono::milliseconds ConnectionImpl::next_backoff() {
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  auto delay = std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(backoff_.count()) * jitter(random_)));
  backoff_ = std::min(backoff_ * 2, std::max(options_.reconnect_max, options_.reconnect_min));
  return delay;
}

std::shared_ptr<Connection> Connection::create(boost::asio::io_context& loop, Endpoint endpoint, Options options) {
  return std::make_shared<ConnectionImpl>(loop, std::move(endpoint), std::move(options));
}

}  // namespace herald::redis
