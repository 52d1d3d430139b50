// The Redis client's failover support against real redis-servers: a located endpoint asked
// before each attempt, the master-only check (ROLE at connect and with the keepalive), reconnect()
// on demand, and sharded pub/sub (SSUBSCRIBE works on a plain Redis 7 too).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.hpp"
#include "redis_test_server.hpp"

namespace herald::redis {
namespace redis_failover_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class RedisFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(first_.start());
    ASSERT_TRUE(second_.start());
  }

  static Options fast_options() {
    Options options;
    options.connect_timeout = 500ms;
    options.command_timeout = 1000ms;
    options.reconnect_min = 20ms;
    options.reconnect_max = 100ms;
    options.ping_interval = 100ms;
    return options;
  }

  bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout = 3000ms) {
    auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      loop_.restart();
      if (loop_.run_for(5ms) == 0) std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  Reply call(Connection& connection, std::vector<std::string> args) {
    std::optional<Reply> result;
    connection.command(std::move(args), [&](const Reply& reply) { result = reply; });
    EXPECT_TRUE(wait_for([&] { return result.has_value(); })) << "no reply";
    return result.value_or(Reply::error("no reply"));
  }

  std::shared_ptr<Connection> plain(const RedisServer& server) {
    auto connection = Connection::create(loop_, server.endpoint(), fast_options());
    connection->start();
    EXPECT_TRUE(wait_for([&] { return connection->state() == State::Connected; })) << connection->last_error();
    return connection;
  }

  // A locator that names `*where` (changed by the test) and counts its calls.
  Locator locator(uint16_t* where, int* asked) {
    return [where, asked](const std::function<void(Located)>& done) {
      ++*asked;
      done(Located{"127.0.0.1", *where, ""});
    };
  }

  boost::asio::io_context loop_;
  RedisServer first_;
  RedisServer second_;
};

TEST_F(RedisFailoverTest, TheLocatorNamesTheServerOfEachAttempt) {
  uint16_t where = first_.port();
  int asked = 0;
  Options options = fast_options();
  options.locate = locator(&where, &asked);
  Endpoint placeholder;  // its host and port are replaced
  placeholder.port = 1;
  auto redis = Connection::create(loop_, placeholder, options);
  redis->start();
  ASSERT_TRUE(wait_for([&] { return redis->state() == State::Connected; })) << redis->last_error();
  EXPECT_EQ(redis->server(), "127.0.0.1:" + std::to_string(first_.port()));
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(call(*redis, {"SET", "where", "first"}).str, "OK");

  // A failover: the locator now names the second server, and reconnect() goes there at once.
  where = second_.port();
  redis->reconnect("failover");
  ASSERT_TRUE(wait_for([&] { return redis->state() == State::Connected && asked == 2; })) << redis->last_error();
  EXPECT_EQ(redis->server(), "127.0.0.1:" + std::to_string(second_.port()));
  EXPECT_EQ(call(*redis, {"GET", "where"}).type, Reply::Type::Nil) << "a fresh server";

  // A locator that cannot answer fails the attempt, which is retried.
  Options failing = fast_options();
  failing.locate = [](const std::function<void(Located)>& done) { done(Located{"", 0, "no sentinel answers"}); };
  auto lost = Connection::create(loop_, placeholder, failing);
  lost->start();
  ASSERT_TRUE(wait_for([&] { return lost->reconnects() >= 2; }));
  EXPECT_EQ(lost->last_error(), "no sentinel answers");
  lost->stop();
}

TEST_F(RedisFailoverTest, AReplicaIsNotTakenForTheMaster) {
  auto admin = plain(second_);
  ASSERT_EQ(call(*admin, {"REPLICAOF", "127.0.0.1", std::to_string(first_.port())}).str, "OK");
  Options options = fast_options();
  options.require_master = true;
  auto redis = Connection::create(loop_, second_.endpoint(), options);
  std::vector<std::string> errors;
  redis->on_state([&](State state, std::string_view error) {
    if (state == State::Disconnected) errors.emplace_back(error);
  });
  redis->start();
  ASSERT_TRUE(wait_for([&] { return errors.size() >= 2; }));
  EXPECT_NE(redis->state(), State::Connected);
  EXPECT_NE(errors.front().find("is a slave, not the master"), std::string::npos) << errors.front();

  // Promoted: now it is taken.
  ASSERT_EQ(call(*admin, {"REPLICAOF", "NO", "ONE"}).str, "OK");
  ASSERT_TRUE(wait_for([&] { return redis->state() == State::Connected; })) << redis->last_error();
}

TEST_F(RedisFailoverTest, AMasterDemotedWhileConnectedIsLeft) {
  Options options = fast_options();
  options.require_master = true;
  auto redis = Connection::create(loop_, second_.endpoint(), options);
  std::vector<std::string> errors;
  redis->on_state([&](State state, std::string_view error) {
    if (state == State::Disconnected) errors.emplace_back(error);
  });
  redis->start();
  ASSERT_TRUE(wait_for([&] { return redis->state() == State::Connected; })) << redis->last_error();

  // Demoted behind the same address: the keepalive's ROLE notices while nothing else is sent.
  auto admin = plain(second_);
  ASSERT_EQ(call(*admin, {"REPLICAOF", "127.0.0.1", std::to_string(first_.port())}).str, "OK");
  ASSERT_TRUE(wait_for([&] { return !errors.empty(); }, 2000ms));
  EXPECT_NE(errors.front().find("not the master"), std::string::npos) << errors.front();
  call(*admin, {"REPLICAOF", "NO", "ONE"});
}

TEST_F(RedisFailoverTest, ShardedSubscriptionsReceiveAndLeave) {
  auto subscriber = Connection::create(loop_, first_.endpoint(), fast_options());
  std::vector<std::pair<std::string, std::string>> messages;
  subscriber->on_message([&](std::string_view pattern, std::string_view channel, std::string_view payload) {
    EXPECT_TRUE(pattern.empty());
    messages.emplace_back(channel, payload);
  });
  subscriber->ssubscribe("a{1}");
  subscriber->start();
  auto publisher = plain(first_);
  ASSERT_TRUE(wait_for([&] { return subscriber->state() == State::Connected; }));
  subscriber->ssubscribe("b{2}");  // while connected
  ASSERT_TRUE(wait_for([&] {
    Reply count = call(*publisher, {"PUBSUB", "SHARDNUMSUB", "a{1}", "b{2}"});
    return count.elements.size() == 4 && count.elements[1].integer == 1 && count.elements[3].integer == 1;
  }));
  EXPECT_EQ(call(*publisher, {"SPUBLISH", "a{1}", "one"}).integer, 1);
  EXPECT_EQ(call(*publisher, {"SPUBLISH", "b{2}", "two"}).integer, 1);
  ASSERT_TRUE(wait_for([&] { return messages.size() == 2; }));
  EXPECT_EQ(messages[0], std::make_pair(std::string("a{1}"), std::string("one")));
  EXPECT_EQ(messages[1], std::make_pair(std::string("b{2}"), std::string("two")));

  subscriber->sunsubscribe("a{1}");
  ASSERT_TRUE(wait_for([&] { return call(*publisher, {"SPUBLISH", "a{1}", "gone"}).integer == 0; }));
  // The keepalive PING in subscribed mode keeps it up; the other channel still delivers.
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(call(*publisher, {"SPUBLISH", "b{2}", "still"}).integer, 1);
  ASSERT_TRUE(wait_for([&] { return messages.size() == 3; }));
  EXPECT_EQ(subscriber->state(), State::Connected);

  // The same on every master: one server answers for all.
  std::optional<std::vector<Reply>> replies;
  publisher->command_each_master({"PING"}, [&](const std::vector<Reply>& all) { replies = all; });
  ASSERT_TRUE(wait_for([&] { return replies.has_value(); }));
  ASSERT_EQ(replies->size(), 1U);
  EXPECT_EQ(replies->front().str, "PONG");
}

}  // namespace redis_failover_test
}  // namespace herald::redis
