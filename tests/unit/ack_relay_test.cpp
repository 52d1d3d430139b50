// The node asked to deliver a broadcast with acks answers its requester in an order the requester
// can count on: the count of sockets reached comes before any socket's drop. The node that asked
// forgets a broadcast once it expires (a manual clock moves time).
#include "cluster/ack_relay.hpp"
#include "push/user_data.hpp"

#include <gtest/gtest.h>

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

TEST(AckWaiters, AnExpiredBroadcastTakesNoMoreAnswers) {
  auto clock = net::Clock::manual();
  net::LoopPool pool(1, *clock);
  AckWaiters waiters(pool);
  size_t reached = 0;
  auto handlers = std::make_shared<socketio::BroadcastAckHandlers>();
  handlers->on_reached = [&](const std::vector<SocketInfo>& sockets) { reached += sockets.size(); };
  waiters.add("old", handlers, 0, clock->now() + std::chrono::milliseconds(10));
  Body count = msg::ClientCount{"old", 2, {"alice", "bob"}, ""};
  EXPECT_TRUE(waiters.answer(count));
  pool.loop(0).poll();
  EXPECT_EQ(reached, 2u) << "answered on the origin loop";

  clock->advance(std::chrono::milliseconds(10));
  // Expired entries go when the next broadcast is added.
  waiters.add("new", handlers, 0, clock->now() + std::chrono::milliseconds(10));
  EXPECT_EQ(waiters.waiting(), 1u);
  Body late = msg::ClientCount{"old", 1, {"carol"}, ""};
  EXPECT_FALSE(waiters.answer(late)) << "the old broadcast expired";
  Body current = msg::ClientCount{"new", 1, {"carol"}, ""};
  EXPECT_TRUE(waiters.answer(current));
  pool.loop(0).poll();
  EXPECT_EQ(reached, 3u);
}

TEST(AckWaiters, ABroadcastIsKeptUntilItsExpiry) {
  auto clock = net::Clock::manual();
  net::LoopPool pool(1, *clock);
  AckWaiters waiters(pool);
  auto handlers = std::make_shared<socketio::BroadcastAckHandlers>();
  waiters.add("kept", handlers, 0, clock->now() + std::chrono::milliseconds(10));
  clock->advance(std::chrono::milliseconds(10) - std::chrono::nanoseconds(1));
  waiters.add("other", handlers, 0, clock->now() + std::chrono::milliseconds(10));
  EXPECT_EQ(waiters.waiting(), 2u) << "dropped before its expiry";
  Body dropped = msg::Dropped{"kept", SocketInfo{"s1", push::UserData::make("alice", 0), nullptr}};
  EXPECT_TRUE(waiters.answer(dropped));
}

TEST(AckWaiters, AnIdAddedAgainKeepsItsLaterExpiry) {
  auto clock = net::Clock::manual();
  net::LoopPool pool(1, *clock);
  AckWaiters waiters(pool);
  auto handlers = std::make_shared<socketio::BroadcastAckHandlers>();
  waiters.add("same", handlers, 0, clock->now() + std::chrono::milliseconds(10));
  waiters.add("same", handlers, 0, clock->now() + std::chrono::milliseconds(30));
  clock->advance(std::chrono::milliseconds(20));
  waiters.add("other", handlers, 0, clock->now() + std::chrono::milliseconds(30));
  EXPECT_EQ(waiters.waiting(), 2u) << "the first expiry of \"same\" took its second entry";
  Body dropped = msg::Dropped{"same", SocketInfo{"s1", push::UserData::make("alice", 0), nullptr}};
  EXPECT_TRUE(waiters.answer(dropped));
  clock->advance(std::chrono::milliseconds(10));
  waiters.add("last", handlers, 0, clock->now() + std::chrono::milliseconds(30));
  EXPECT_EQ(waiters.waiting(), 2u) << "\"same\" expired at 30 ms";
  EXPECT_FALSE(waiters.answer(dropped));
}

TEST(AckWaiters, ExpiredWaitersGoInTheOrderTheyExpire) {
  auto clock = net::Clock::manual();
  net::LoopPool pool(1, *clock);
  AckWaiters waiters(pool);
  auto handlers = std::make_shared<socketio::BroadcastAckHandlers>();
  // Added out of their expiry order (pushes with different timeouts).
  for (int i = 0; i < 100; ++i)
    waiters.add("w" + std::to_string(i), handlers, 0, clock->now() + std::chrono::milliseconds(100 - i));
  clock->advance(std::chrono::milliseconds(50));
  waiters.add("next", handlers, 0, clock->now() + std::chrono::milliseconds(100));
  EXPECT_EQ(waiters.waiting(), 50u + 1u) << "w50..w99 expired at 50..1 ms";
  Body kept = msg::Dropped{"w49", SocketInfo{"s1", push::UserData::make("alice", 0), nullptr}};
  Body gone = msg::Dropped{"w50", SocketInfo{"s1", push::UserData::make("alice", 0), nullptr}};
  EXPECT_TRUE(waiters.answer(kept));
  EXPECT_FALSE(waiters.answer(gone));
}

}  // namespace ack_relay_test
}  // namespace herald::cluster
