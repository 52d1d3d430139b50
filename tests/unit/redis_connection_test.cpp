// The Redis client (redis/connection.hpp) against a real redis-server that each test starts on a
// free port: replies, binary safety, pipelining, pub/sub, Redis going away and coming back,
// AUTH / SELECT, timeouts, READONLY, TLS and stop().
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.hpp"
#include "redis_test_server.hpp"

namespace herald::redis {
namespace redis_connection_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Driving the loop from the test thread
// ---------------------------------------------------------------------------------------------

class RedisConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = make_server();
    if (server_) {
      ASSERT_TRUE(server_->start()) << "cannot start /usr/bin/redis-server";
    }
  }
  // The server each test gets; null skips the test.
  virtual std::unique_ptr<RedisServer> make_server() { return std::make_unique<RedisServer>(); }

  static Options fast_options() {
    Options options;
    options.connect_timeout = 500ms;
    options.command_timeout = 1000ms;
    options.reconnect_min = 20ms;
    options.reconnect_max = 100ms;
    return options;
  }

  std::shared_ptr<Connection> connect(Endpoint endpoint, Options options = fast_options()) {
    auto connection = Connection::create(loop_, std::move(endpoint), options);
    connection->start();
    EXPECT_TRUE(wait_for([&] { return connection->state() == State::Connected; })) << connection->last_error();
    return connection;
  }
  std::shared_ptr<Connection> connect() { return connect(server_->endpoint()); }

  // Runs the loop until `done` or the timeout; false on timeout.
  bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout = 2000ms) {
    auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      loop_.restart();
      if (loop_.run_for(5ms) == 0) std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  void run_for(std::chrono::milliseconds duration) {
    auto deadline = Clock::now() + duration;
    wait_for([&] { return Clock::now() >= deadline; }, duration + 100ms);
  }

  Reply call(Connection& connection, std::vector<std::string> args) {
    std::optional<Reply> result;
    connection.command(std::move(args), [&](const Reply& reply) { result = reply; });
    EXPECT_TRUE(wait_for([&] { return result.has_value(); })) << "no reply";
    return result.value_or(Reply::error("no reply"));
  }

  boost::asio::io_context loop_;
  std::unique_ptr<RedisServer> server_;
};

struct Message {
  std::string pattern, channel, payload;
};

void collect_messages(Connection& connection, std::vector<Message>& messages) {
  connection.on_message([&messages](std::string_view pattern, std::string_view channel, std::string_view payload) {
    messages.push_back(Message{std::string(pattern), std::string(channel), std::string(payload)});
  });
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// Commands and replies
// ---------------------------------------------------------------------------------------------

TEST_F(RedisConnectionTest, RepliesOfEveryType) {
  auto redis = connect();
  Reply set = call(*redis, {"SET", "greeting", "hello"});
  EXPECT_EQ(set.type, Reply::Type::Status);
  EXPECT_EQ(set.str, "OK");

  Reply get = call(*redis, {"GET", "greeting"});
  EXPECT_EQ(get.type, Reply::Type::String);
  EXPECT_EQ(get.str, "hello");

  EXPECT_EQ(call(*redis, {"INCR", "counter"}).integer, 1);
  Reply incr = call(*redis, {"INCRBY", "counter", "41"});
  EXPECT_EQ(incr.type, Reply::Type::Integer);
  EXPECT_EQ(incr.integer, 42);

  EXPECT_EQ(call(*redis, {"GET", "missing"}).type, Reply::Type::Nil);

  call(*redis, {"RPUSH", "list", "a", "b", "c"});
  Reply range = call(*redis, {"LRANGE", "list", "0", "-1"});
  ASSERT_EQ(range.type, Reply::Type::Array);
  ASSERT_EQ(range.elements.size(), 3u);
  EXPECT_EQ(range.elements[2].str, "c");
  EXPECT_EQ(call(*redis, {"LRANGE", "nolist", "0", "-1"}).elements.size(), 0u);

  Reply mget = call(*redis, {"MGET", "greeting", "missing"});
  ASSERT_EQ(mget.elements.size(), 2u);
  EXPECT_EQ(mget.elements[0].str, "hello");
  EXPECT_EQ(mget.elements[1].type, Reply::Type::Nil);

  Reply nested = call(*redis, {"EVAL", "return {1, {2, 'x'}, 'y'}", "0"});
  ASSERT_EQ(nested.type, Reply::Type::Array);
  ASSERT_EQ(nested.elements.size(), 3u);
  EXPECT_EQ(nested.elements[0].integer, 1);
  ASSERT_EQ(nested.elements[1].elements.size(), 2u);
  EXPECT_EQ(nested.elements[1].elements[1].str, "x");
  EXPECT_EQ(nested.elements[2].str, "y");

  Reply wrong_type = call(*redis, {"INCR", "greeting"});
  EXPECT_TRUE(wrong_type.is_error());
  EXPECT_TRUE(wrong_type.str.starts_with("ERR value is not an integer")) << wrong_type.str;
  EXPECT_TRUE(call(*redis, {"NOSUCHCOMMAND"}).is_error());
  EXPECT_EQ(redis->state(), State::Connected);  // an error reply is not a connection problem

  Reply empty = call(*redis, {});
  EXPECT_TRUE(empty.is_error());
}

TEST_F(RedisConnectionTest, ValuesAreBinarySafe) {
  auto redis = connect();
  std::string value;
  for (int byte = 0; byte < 256; ++byte) value.push_back(static_cast<char>(byte));
  value += std::string("\0\r\n$3\r\n*1\r\n\0", 13);
  std::string key("key\0with\r\nbytes", 15);
  EXPECT_EQ(call(*redis, {"SET", key, value}).str, "OK");
  Reply get = call(*redis, {"GET", key});
  EXPECT_EQ(get.str, value);
  EXPECT_EQ(call(*redis, {"STRLEN", key}).integer, static_cast<int64_t>(value.size()));

  // Larger than any one read: the reply arrives in many pieces.
  std::string big(3 * 1024 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 1000);
  EXPECT_EQ(call(*redis, {"SET", "big", big}).str, "OK");
  EXPECT_EQ(call(*redis, {"GET", "big"}).str, big);
}

TEST_F(RedisConnectionTest, PipelinedRepliesArriveInOrder) {
  auto redis = connect();
  constexpr int kCommands = 10000;
  int received = 0;
  int out_of_order = 0;
  for (int i = 0; i < kCommands; ++i) {
    redis->command({"INCR", "pipelined"}, [&, expected = i + 1](const Reply& reply) {
      if (reply.type != Reply::Type::Integer || reply.integer != expected) ++out_of_order;
      ++received;
    });
  }
  EXPECT_EQ(received, 0);  // nothing runs inline
  ASSERT_TRUE(wait_for([&] { return received == kCommands; }));
  EXPECT_EQ(out_of_order, 0);
  EXPECT_EQ(call(*redis, {"GET", "pipelined"}).str, std::to_string(kCommands));
}

TEST_F(RedisConnectionTest, StatesAndClientName) {
  Options options = fast_options();
  options.client_name = "herald-test";
  auto redis = Connection::create(loop_, server_->endpoint(), options);
  std::vector<State> states;
  redis->on_state([&](State state, std::string_view) { states.push_back(state); });
  EXPECT_EQ(redis->state(), State::Disconnected);
  redis->start();
  ASSERT_TRUE(wait_for([&] { return redis->state() == State::Connected; }));
  EXPECT_EQ(states, (std::vector<State>{State::Connecting, State::Connected}));
  EXPECT_EQ(call(*redis, {"CLIENT", "GETNAME"}).str, "herald-test");
  EXPECT_EQ(redis->reconnects(), 0u);
  EXPECT_TRUE(redis->last_error().empty());
}

TEST_F(RedisConnectionTest, SelectsTheDatabase) {
  Endpoint db5 = server_->endpoint();
  db5.db = 5;
  auto in_db5 = connect(db5);
  auto in_db0 = connect();
  call(*in_db5, {"SET", "where", "five"});
  EXPECT_EQ(call(*in_db5, {"GET", "where"}).str, "five");
  EXPECT_EQ(call(*in_db0, {"GET", "where"}).type, Reply::Type::Nil);

  Endpoint bad = server_->endpoint();
  bad.db = 99;
  auto out_of_range = Connection::create(loop_, bad, fast_options());
  out_of_range->start();
  ASSERT_TRUE(wait_for([&] { return !out_of_range->last_error().empty(); }));
  EXPECT_TRUE(contains(out_of_range->last_error(), "out of range")) << out_of_range->last_error();
  EXPECT_NE(out_of_range->state(), State::Connected);
}

// ---------------------------------------------------------------------------------------------
// Pub/sub
// ---------------------------------------------------------------------------------------------

TEST_F(RedisConnectionTest, SubscribeReceivesPublishedMessages) {
  auto subscriber = Connection::create(loop_, server_->endpoint(), fast_options());
  std::vector<Message> messages;
  collect_messages(*subscriber, messages);
  subscriber->subscribe("news");
  subscriber->start();
  auto publisher = connect();
  ASSERT_TRUE(wait_for([&] { return subscriber->state() == State::Connected; }));

  std::string payload("\x81\xa3msg\0\r\n", 9);  // msgpack-ish bytes
  EXPECT_EQ(call(*publisher, {"PUBLISH", "news", payload}).integer, 1);
  ASSERT_TRUE(wait_for([&] { return messages.size() == 1; }));
  EXPECT_EQ(messages[0].pattern, "");
  EXPECT_EQ(messages[0].channel, "news");
  EXPECT_EQ(messages[0].payload, payload);

  // Subscribing while connected sends SUBSCRIBE at once.
  subscriber->subscribe("sport");
  ASSERT_TRUE(wait_for([&] { return call(*publisher, {"PUBSUB", "NUMSUB", "sport"}).elements.at(1).integer == 1; }));
  EXPECT_EQ(call(*publisher, {"PUBLISH", "sport", "goal"}).integer, 1);
  ASSERT_TRUE(wait_for([&] { return messages.size() == 2; }));
  EXPECT_EQ(messages[1].channel, "sport");
  EXPECT_EQ(messages[1].payload, "goal");

  subscriber->subscribe("news");  // already subscribed: nothing changes
  for (int i = 0; i < 100; ++i) publisher->command({"PUBLISH", "news", std::to_string(i)}, nullptr);
  ASSERT_TRUE(wait_for([&] { return messages.size() == 102; }));
  EXPECT_EQ(messages[101].payload, "99");
  EXPECT_EQ(subscriber->state(), State::Connected);
}

TEST_F(RedisConnectionTest, UnsubscribeLeavesTheChannelAndKeepsTheOthers) {
  auto subscriber = Connection::create(loop_, server_->endpoint(), fast_options());
  std::vector<Message> messages;
  collect_messages(*subscriber, messages);
  subscriber->subscribe("news");
  subscriber->subscribe("sport");
  subscriber->unsubscribe("sport");  // before the connection: never subscribed
  subscriber->start();
  auto publisher = connect();
  ASSERT_TRUE(wait_for([&] { return subscriber->state() == State::Connected; }));
  auto numsub = [&](const std::string& channel) {
    return call(*publisher, {"PUBSUB", "NUMSUB", channel}).elements.at(1).integer;
  };
  EXPECT_EQ(numsub("news"), 1);
  EXPECT_EQ(numsub("sport"), 0);

  subscriber->subscribe("sport");
  ASSERT_TRUE(wait_for([&] { return numsub("sport") == 1; }));
  subscriber->unsubscribe("news");  // while connected: UNSUBSCRIBE at once
  ASSERT_TRUE(wait_for([&] { return numsub("news") == 0; }));
  subscriber->unsubscribe("news");  // not subscribed: nothing changes
  EXPECT_EQ(call(*publisher, {"PUBLISH", "news", "lost"}).integer, 0);
  EXPECT_EQ(call(*publisher, {"PUBLISH", "sport", "goal"}).integer, 1);
  ASSERT_TRUE(wait_for([&] { return messages.size() == 1; }));
  EXPECT_EQ(messages[0].channel, "sport");
  EXPECT_EQ(subscriber->state(), State::Connected);
}

TEST_F(RedisConnectionTest, PatternSubscriptionGivesPatternAndChannel) {
  auto subscriber = Connection::create(loop_, server_->endpoint(), fast_options());
  std::vector<Message> messages;
  collect_messages(*subscriber, messages);
  subscriber->psubscribe("room:*");
  subscriber->subscribe("room:1");
  subscriber->start();
  auto publisher = connect();
  ASSERT_TRUE(wait_for([&] { return subscriber->state() == State::Connected; }));

  EXPECT_EQ(call(*publisher, {"PUBLISH", "room:42", "hi"}).integer, 1);
  ASSERT_TRUE(wait_for([&] { return messages.size() == 1; }));
  EXPECT_EQ(messages[0].pattern, "room:*");
  EXPECT_EQ(messages[0].channel, "room:42");
  EXPECT_EQ(messages[0].payload, "hi");

  EXPECT_EQ(call(*publisher, {"PUBLISH", "room:1", "both"}).integer, 2);  // the channel and the pattern
  ASSERT_TRUE(wait_for([&] { return messages.size() == 3; }));
}

// ---------------------------------------------------------------------------------------------
// Redis unreachable, going away, coming back
// ---------------------------------------------------------------------------------------------

TEST_F(RedisConnectionTest, CommandsFailFastWhileRedisIsDown) {
  Endpoint nowhere;
  nowhere.port = free_port();
  auto redis = Connection::create(loop_, nowhere, fast_options());

  std::optional<Reply> before_start;
  redis->command({"GET", "x"}, [&](const Reply& reply) { before_start = reply; });
  EXPECT_FALSE(before_start.has_value());  // posted, not inline
  ASSERT_TRUE(wait_for([&] { return before_start.has_value(); }));
  EXPECT_EQ(before_start->str, "redis not connected: not started");

  std::vector<std::string> errors;
  redis->on_state([&](State state, std::string_view error) {
    if (state == State::Disconnected) errors.emplace_back(error);
  });
  redis->start();
  ASSERT_TRUE(wait_for([&] { return redis->state() == State::Disconnected; }));
  EXPECT_TRUE(contains(redis->last_error(), "refused")) << redis->last_error();

  std::optional<Reply> reply;
  auto started = Clock::now();
  redis->command({"GET", "x"}, [&](const Reply& r) { reply = r; });
  EXPECT_FALSE(reply.has_value());
  ASSERT_TRUE(wait_for([&] { return reply.has_value(); }));
  EXPECT_LT(Clock::now() - started, 100ms);
  EXPECT_TRUE(reply->is_error());
  EXPECT_TRUE(reply->str.starts_with("redis not connected: ")) << reply->str;
  EXPECT_TRUE(contains(reply->str, "refused")) << reply->str;

  // It keeps trying, with a growing delay.
  ASSERT_TRUE(wait_for([&] { return redis->reconnects() >= 3; }));
  ASSERT_FALSE(errors.empty());
  EXPECT_TRUE(contains(errors.front(), "refused"));
}

TEST_F(RedisConnectionTest, ReconnectsAndRestoresSubscriptionsAfterRedisRestarts) {
  auto redis = connect();
  auto subscriber = Connection::create(loop_, server_->endpoint(), fast_options());
  std::vector<Message> messages;
  collect_messages(*subscriber, messages);
  subscriber->subscribe("alerts");
  subscriber->psubscribe("user:*");
  subscriber->start();
  ASSERT_TRUE(wait_for([&] { return subscriber->state() == State::Connected; }));

  // A command in flight when Redis dies fails with the reason.
  server_->pause();
  std::optional<Reply> in_flight;
  redis->command({"GET", "x"}, [&](const Reply& reply) { in_flight = reply; });
  run_for(20ms);
  server_->kill();
  ASSERT_TRUE(wait_for([&] { return in_flight.has_value(); }));
  EXPECT_TRUE(in_flight->str.starts_with("redis connection lost: ")) << in_flight->str;
  ASSERT_TRUE(wait_for([&] { return subscriber->state() != State::Connected; }));
  EXPECT_NE(redis->state(), State::Connected);
  EXPECT_FALSE(redis->last_error().empty());
  EXPECT_FALSE(subscriber->last_error().empty());

  Reply down = call(*redis, {"GET", "x"});
  EXPECT_TRUE(down.str.starts_with("redis not connected: ")) << down.str;

  ASSERT_TRUE(server_->start());  // same port
  ASSERT_TRUE(wait_for([&] { return redis->state() == State::Connected && subscriber->state() == State::Connected; }));
  EXPECT_GE(redis->reconnects(), 1u);
  EXPECT_GE(subscriber->reconnects(), 1u);
  EXPECT_EQ(call(*redis, {"PUBLISH", "alerts", "back"}).integer, 1);
  EXPECT_EQ(call(*redis, {"PUBLISH", "user:7", "hello"}).integer, 1);
  ASSERT_TRUE(wait_for([&] { return messages.size() == 2; }));
  EXPECT_EQ(messages[0].channel, "alerts");
  EXPECT_EQ(messages[0].payload, "back");
  EXPECT_EQ(messages[1].pattern, "user:*");
  EXPECT_EQ(messages[1].channel, "user:7");
}

TEST_F(RedisConnectionTest, CommandTimeoutFailsPendingCommandsAndReconnects) {
  Options options = fast_options();
  options.command_timeout = 200ms;
  auto redis = connect(server_->endpoint(), options);
  std::vector<std::string> errors;
  redis->on_state([&](State state, std::string_view error) {
    if (state == State::Disconnected) errors.emplace_back(error);
  });

  std::optional<Reply> sleep, behind;
  auto started = Clock::now();
  redis->command({"DEBUG", "SLEEP", "1"}, [&](const Reply& reply) { sleep = reply; });
  redis->command({"PING"}, [&](const Reply& reply) { behind = reply; });
  ASSERT_TRUE(wait_for([&] { return sleep.has_value() && behind.has_value(); }));
  auto elapsed = Clock::now() - started;
  EXPECT_GE(elapsed, 190ms);
  EXPECT_LT(elapsed, 700ms);
  EXPECT_EQ(sleep->str, "redis timeout");
  EXPECT_EQ(behind->str, "redis timeout");
  ASSERT_FALSE(errors.empty());
  EXPECT_TRUE(contains(errors.front(), "timeout")) << errors.front();

  // Redis answers again once the sleep is over; the connection comes back by itself.
  ASSERT_TRUE(wait_for([&] { return redis->state() == State::Connected; }));
  EXPECT_EQ(call(*redis, {"PING"}).str, "PONG");
}

TEST_F(RedisConnectionTest, SubscriberNoticesAStuckRedisByPing) {
  Options options = fast_options();
  options.ping_interval = 100ms;
  options.command_timeout = 200ms;
  auto subscriber = Connection::create(loop_, server_->endpoint(), options);
  std::vector<Message> messages;
  collect_messages(*subscriber, messages);
  subscriber->subscribe("quiet");
  subscriber->start();
  ASSERT_TRUE(wait_for([&] { return subscriber->state() == State::Connected; }));
  run_for(250ms);  // keepalive PINGs are answered: still connected, no stray messages
  EXPECT_EQ(subscriber->state(), State::Connected);
  EXPECT_TRUE(messages.empty());

  server_->pause();
  ASSERT_TRUE(wait_for([&] { return subscriber->state() != State::Connected; }, 1000ms));
  EXPECT_TRUE(contains(subscriber->last_error(), "timeout")) << subscriber->last_error();
  server_->resume();

  ASSERT_TRUE(wait_for([&] { return subscriber->state() == State::Connected; }));
  auto publisher = connect();
  EXPECT_EQ(call(*publisher, {"PUBLISH", "quiet", "awake"}).integer, 1);
  ASSERT_TRUE(wait_for([&] { return messages.size() == 1; }));
  EXPECT_EQ(messages[0].payload, "awake");
}

TEST_F(RedisConnectionTest, ReadOnlyReplyReconnects) {
  RedisServer master;
  ASSERT_TRUE(master.start());
  auto redis = connect();
  std::vector<std::string> errors;
  redis->on_state([&](State state, std::string_view error) {
    if (state == State::Disconnected) errors.emplace_back(error);
  });

  // The test server becomes a replica, as after a failover behind the same address.
  EXPECT_EQ(call(*redis, {"REPLICAOF", "127.0.0.1", std::to_string(master.port())}).str, "OK");
  Reply write = call(*redis, {"SET", "k", "v"});
  EXPECT_TRUE(write.str.starts_with("READONLY")) << write.str;
  ASSERT_FALSE(errors.empty());
  EXPECT_TRUE(errors.front().starts_with("READONLY")) << errors.front();

  ASSERT_TRUE(wait_for([&] { return redis->state() == State::Connected; }));
  EXPECT_GE(redis->reconnects(), 1u);
  EXPECT_EQ(call(*redis, {"REPLICAOF", "NO", "ONE"}).str, "OK");
  EXPECT_EQ(call(*redis, {"SET", "k", "v"}).str, "OK");
}

// ---------------------------------------------------------------------------------------------
// AUTH
// ---------------------------------------------------------------------------------------------

class RedisAuthTest : public RedisConnectionTest {
 protected:
  std::unique_ptr<RedisServer> make_server() override {
    return std::make_unique<RedisServer>(std::vector<std::string>{"--requirepass", "s3cret"});
  }
};

TEST_F(RedisAuthTest, RightPasswordWorks) {
  Endpoint endpoint = server_->endpoint();
  endpoint.password = "s3cret";
  auto redis = connect(endpoint);
  EXPECT_EQ(call(*redis, {"SET", "k", "v"}).str, "OK");

  endpoint.username = "default";  // the ACL form: AUTH user password
  auto acl = connect(endpoint);
  EXPECT_EQ(call(*acl, {"GET", "k"}).str, "v");
}

TEST_F(RedisAuthTest, WrongPasswordIsReportedAndRetried) {
  Endpoint endpoint = server_->endpoint();
  endpoint.password = "wrong";
  auto redis = Connection::create(loop_, endpoint, fast_options());
  std::vector<std::string> errors;
  redis->on_state([&](State state, std::string_view error) {
    if (state == State::Disconnected) errors.emplace_back(error);
  });
  redis->start();
  ASSERT_TRUE(wait_for([&] { return errors.size() >= 3; }));  // keeps retrying
  for (const std::string& error : errors) EXPECT_TRUE(error.starts_with("WRONGPASS")) << error;
  EXPECT_TRUE(contains(redis->last_error(), "invalid")) << redis->last_error();
  EXPECT_GE(redis->reconnects(), 2u);
  Reply reply = call(*redis, {"GET", "k"});
  EXPECT_TRUE(reply.str.starts_with("redis not connected: WRONGPASS")) << reply.str;
}

TEST_F(RedisAuthTest, MissingPasswordIsReported) {
  auto redis = Connection::create(loop_, server_->endpoint(), fast_options());
  redis->start();
  ASSERT_TRUE(wait_for([&] { return !redis->last_error().empty(); }));
  EXPECT_TRUE(redis->last_error().starts_with("NOAUTH")) << redis->last_error();
}

// ---------------------------------------------------------------------------------------------
// stop() and lifetime
// ---------------------------------------------------------------------------------------------

TEST_F(RedisConnectionTest, StopFailsPendingCommandsAndStopsReconnecting) {
  auto redis = connect();
  std::vector<State> states;
  redis->on_state([&](State state, std::string_view) { states.push_back(state); });

  server_->pause();
  std::optional<Reply> pending;
  redis->command({"GET", "x"}, [&](const Reply& reply) { pending = reply; });
  run_for(20ms);
  redis->stop();
  EXPECT_EQ(redis->state(), State::Stopped);
  ASSERT_TRUE(wait_for([&] { return pending.has_value(); }));
  EXPECT_TRUE(pending->is_error());
  EXPECT_EQ(states, std::vector<State>{State::Stopped});
  server_->resume();

  Reply after = call(*redis, {"GET", "x"});
  EXPECT_EQ(after.str, "redis not connected: stopped");
  run_for(200ms);
  EXPECT_EQ(redis->state(), State::Stopped);
  EXPECT_EQ(redis->reconnects(), 0u);
}

TEST_F(RedisConnectionTest, StopWhileRetryingEndsTheRetries) {
  Endpoint nowhere;
  nowhere.port = free_port();
  Options options = fast_options();
  options.reconnect_min = 10ms;
  options.reconnect_max = 20ms;
  auto redis = Connection::create(loop_, nowhere, options);
  redis->start();
  ASSERT_TRUE(wait_for([&] { return redis->reconnects() >= 2; }));
  redis->stop();
  uint64_t reconnects = redis->reconnects();
  run_for(200ms);
  EXPECT_EQ(redis->reconnects(), reconnects);
  EXPECT_EQ(redis->state(), State::Stopped);
}

TEST_F(RedisConnectionTest, DroppingTheConnectionFailsItsCommands) {
  auto redis = connect();
  server_->pause();
  std::optional<Reply> pending;
  redis->command({"GET", "x"}, [&](const Reply& reply) { pending = reply; });
  run_for(20ms);
  redis.reset();  // no stop(): the destructor closes the socket
  ASSERT_TRUE(wait_for([&] { return pending.has_value(); }));
  EXPECT_TRUE(pending->is_error());
  server_->resume();
  run_for(20ms);
}

// ---------------------------------------------------------------------------------------------
// TLS (rediss://)
// ---------------------------------------------------------------------------------------------

class RedisTlsTest : public RedisConnectionTest {
 protected:
  std::unique_ptr<RedisServer> make_server() override {
    char pattern[] = "/tmp/herald-redis-tls-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return nullptr;
    dir_ = pattern;
    std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost "
        "-keyout " +
        dir_ + "/key.pem -out " + dir_ + "/cert.pem >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) return nullptr;
    std::vector<std::string> args{"--tls-cert-file",    dir_ + "/cert.pem", "--tls-key-file",     dir_ + "/key.pem",
                                  "--tls-ca-cert-file", dir_ + "/cert.pem", "--tls-auth-clients", "no"};
    return std::make_unique<RedisServer>(std::move(args), true);
  }

  void SetUp() override {
    RedisConnectionTest::SetUp();
    if (!server_) GTEST_SKIP() << "openssl cannot make a test certificate";
  }
  void TearDown() override {
    server_.reset();
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  Endpoint tls_endpoint() {
    Endpoint endpoint = server_->endpoint();
    endpoint.host = "localhost";  // a name: resolved, and sent as SNI
    endpoint.tls = true;
    return endpoint;
  }

  std::string dir_;
};

TEST_F(RedisTlsTest, CommandsAndPubSubOverTls) {
  auto redis = connect(tls_endpoint());
  std::string big(1024 * 1024, 'x');
  big[1000] = '\0';
  EXPECT_EQ(call(*redis, {"SET", "big", big}).str, "OK");
  EXPECT_EQ(call(*redis, {"GET", "big"}).str, big);

  auto subscriber = Connection::create(loop_, tls_endpoint(), fast_options());
  std::vector<Message> messages;
  collect_messages(*subscriber, messages);
  subscriber->subscribe("secure");
  subscriber->start();
  ASSERT_TRUE(wait_for([&] { return subscriber->state() == State::Connected; }));
  EXPECT_EQ(call(*redis, {"PUBLISH", "secure", "sealed"}).integer, 1);
  ASSERT_TRUE(wait_for([&] { return messages.size() == 1; }));
  EXPECT_EQ(messages[0].payload, "sealed");
}

TEST_F(RedisTlsTest, VerificationRejectsAnUnknownCertificate) {
  Options options = fast_options();
  options.tls_verify = true;
  auto redis = Connection::create(loop_, tls_endpoint(), options);
  redis->start();
  ASSERT_TRUE(wait_for([&] { return !redis->last_error().empty(); }));
  EXPECT_TRUE(contains(redis->last_error(), "TLS handshake")) << redis->last_error();
  EXPECT_NE(redis->state(), State::Connected);
}

}  // namespace redis_connection_test
}  // namespace herald::redis
