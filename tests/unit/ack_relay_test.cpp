// The node asked to deliver a broadcast with acks answers its requester in an order the requester
// can count on: the count of sockets reached comes before any socket's drop. The node that asked
// forgets a broadcast once it expires (a manual clock moves time).
#include "cluster/ack_relay.hpp"
#include "push/user_data.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace herald::cluster {
namespace ack_relay_test {

using socketio::SocketInfo;

TEST(AckRelay, DropReportedBeforeEveryLoopCountedWaitsForTheCount) {
  net::LoopPool pool(1);
  std::vector<Body> answers;
  auto relay = std::make_shared<AckRelay>(pool, 0, "req", true, 2, [&](const Body& body) { answers.push_back(body); });
  auto handlers = relay->handlers();
  handlers.on_reached({SocketInfo{"s1", push::UserData::make("alice", 0), nullptr}});
  handlers.on_dropped(SocketInfo{"s1", push::UserData::make("alice", 0), nullptr});
  EXPECT_TRUE(answers.empty()) << "one loop has not reported its reach yet";
  handlers.on_reached({});
  ASSERT_EQ(answers.size(), 2u);
  const auto* count = std::get_if<msg::ClientCount>(&answers[0]);
  ASSERT_NE(count, nullptr) << "the count comes first";
  EXPECT_EQ(count->count, 1u);
  EXPECT_EQ(count->users, std::vector<std::string>{"alice"});
  const auto* dropped = std::get_if<msg::Dropped>(&answers[1]);
  ASSERT_NE(dropped, nullptr);
  EXPECT_EQ(push::user_of(dropped->socket), "alice");
  EXPECT_EQ(dropped->request_id, "req");
}

TEST(AckRelay, DropAfterTheCountIsAnsweredAtOnce) {
  net::LoopPool pool(1);
  std::vector<Body> answers;
  auto relay = std::make_shared<AckRelay>(pool, 0, "req", true, 1, [&](const Body& body) { answers.push_back(body); });
  auto handlers = relay->handlers();
  handlers.on_reached({SocketInfo{"s1", push::UserData::make("bob", 0), nullptr}});
  handlers.on_dropped(SocketInfo{"s1", push::UserData::make("bob", 0), nullptr});
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<msg::Dropped>(answers[1]));
}

TEST(AckRelay, NodeRequestersAreNotToldOfDrops) {
  net::LoopPool pool(1);
  std::vector<Body> answers;
  auto relay = std::make_shared<AckRelay>(pool, 0, "req", false, 1, [&](const Body& body) { answers.push_back(body); });
  EXPECT_FALSE(relay->handlers().on_dropped) << "Node's adapter has no such answer";
}

// One waiting node's table, on a manual clock.
class AckWaitersTest : public ::testing::Test {
 protected:
  void add(const std::string& request_id, int expires_in_ms) {
    waiters.add(request_id, handlers, 0, clock->now() + std::chrono::milliseconds(expires_in_ms));
  }
  void advance(int ms) { clock->advance(std::chrono::milliseconds(ms)); }
  static Body dropped(const std::string& request_id) {
    return msg::Dropped{request_id, SocketInfo{"s1", push::UserData::make("alice", 0), nullptr}};
  }

  std::unique_ptr<net::Clock> clock = net::Clock::manual();
  net::LoopPool pool{1, *clock};
  AckWaiters waiters{pool};
  std::shared_ptr<socketio::BroadcastAckHandlers> handlers = std::make_shared<socketio::BroadcastAckHandlers>();
};

TEST_F(AckWaitersTest, AnExpiredBroadcastTakesNoMoreAnswers) {
  size_t reached = 0;
  handlers->on_reached = [&](const std::vector<SocketInfo>& sockets) { reached += sockets.size(); };
  add("old", 10);
  Body count = msg::ClientCount{"old", 2, {"alice", "bob"}, ""};
  EXPECT_TRUE(waiters.answer(count));
  pool.loop(0).poll();
  EXPECT_EQ(reached, 2u) << "answered on the origin loop";

  advance(10);
  // Expired entries go when the next broadcast is added.
  add("new", 10);
  EXPECT_EQ(waiters.waiting(), 1u);
  Body late = msg::ClientCount{"old", 1, {"carol"}, ""};
  EXPECT_FALSE(waiters.answer(late)) << "the old broadcast expired";
  Body current = msg::ClientCount{"new", 1, {"carol"}, ""};
  EXPECT_TRUE(waiters.answer(current));
  pool.loop(0).poll();
  EXPECT_EQ(reached, 3u);
}

TEST_F(AckWaitersTest, ABroadcastIsKeptUntilItsExpiry) {
  add("kept", 10);
  clock->advance(std::chrono::milliseconds(10) - std::chrono::nanoseconds(1));
  add("other", 10);
  EXPECT_EQ(waiters.waiting(), 2u) << "dropped before its expiry";
  Body answer = dropped("kept");
  EXPECT_TRUE(waiters.answer(answer));
}

TEST_F(AckWaitersTest, AnIdAddedAgainKeepsItsLaterExpiry) {
  add("same", 10);
  add("same", 30);
  advance(20);
  add("other", 30);
  EXPECT_EQ(waiters.waiting(), 2u) << "the first expiry of \"same\" took its second entry";
  Body answer = dropped("same");
  EXPECT_TRUE(waiters.answer(answer));
  advance(10);
  add("last", 30);
  EXPECT_EQ(waiters.waiting(), 2u) << "\"same\" expired at 30 ms";
  EXPECT_FALSE(waiters.answer(answer));
}

TEST_F(AckWaitersTest, ExpiredWaitersGoInTheOrderTheyExpire) {
  // Added out of their expiry order (pushes with different timeouts).
  for (int i = 0; i < 100; ++i) add("w" + std::to_string(i), 100 - i);
  advance(50);
  add("next", 100);
  EXPECT_EQ(waiters.waiting(), 50u + 1u) << "w50..w99 expired at 50..1 ms";
  Body kept = dropped("w49");
  Body gone = dropped("w50");
  EXPECT_TRUE(waiters.answer(kept));
  EXPECT_FALSE(waiters.answer(gone));
}

}  // namespace ack_relay_test
}  // namespace herald::cluster
