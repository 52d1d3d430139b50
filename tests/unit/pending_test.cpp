// push::PendingMessages: kept pushes per user, in order, once per msgId; acks end them for good;
// times to live and the bounds drop them, and their states say what happened.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "push/pending.hpp"

namespace herald::push {
namespace pending_test {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

PendingMessage message(std::string id, std::chrono::milliseconds ttl = 60s) {
  auto now = Clock::now();
  return PendingMessage{std::move(id), "message", socketio::Json{{"text", "hello"}}, now, now + ttl};
}

std::vector<std::string> ids(const std::vector<PendingMessage>& messages) {
  std::vector<std::string> out;
  out.reserve(messages.size());
  for (const auto& m : messages) out.push_back(m.msg_id);
  return out;
}

MessageState::State state_of(PendingMessages& pending, const std::string& msg_id, const std::string& uid) {
  for (const auto& [user, state] : pending.states(msg_id))
    if (user == uid) return state.state;
  ADD_FAILURE() << "no state for " << uid;
  return MessageState::State::Dropped;
}

TEST(PendingMessages, KeepsEachMessageOncePerUserInOrder) {
  PendingMessages pending(PendingLimits{});
  EXPECT_TRUE(pending.add("alice", message("m1")));
  EXPECT_TRUE(pending.add("alice", message("m2")));
  EXPECT_TRUE(pending.add("alice", message("m1")));
  EXPECT_TRUE(pending.add("bob", message("m1")));
  EXPECT_EQ(ids(pending.of("alice")), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(ids(pending.of("bob")), std::vector<std::string>{"m1"});
  EXPECT_EQ(pending.pending_count(), 3u);
  EXPECT_EQ(ids(pending.of("alice")).size(), 2u) << "of() does not take them out";
}

TEST(PendingMessages, ManyUsersAtOnceEachOnceNotTheAckedOnes) {
  PendingMessages pending(PendingLimits{});
  EXPECT_EQ(pending.add(std::vector<std::string>{"alice", "bob"}, message("m1")), 2u);
  EXPECT_TRUE(pending.acked("bob", "m1"));
  EXPECT_EQ(pending.add(std::vector<std::string>{"alice", "bob", "carol"}, message("m1")), 2u)
      << "alice is kept (once), bob acked it";
  EXPECT_EQ(ids(pending.of("alice")), std::vector<std::string>{"m1"});
  EXPECT_TRUE(pending.of("bob").empty());
  EXPECT_EQ(ids(pending.of("carol")), std::vector<std::string>{"m1"});
  EXPECT_EQ(pending.pending_count(), 2u);
}

TEST(PendingMessages, DroppedByTheBoundItCanBeKeptAgain) {
  PendingMessages pending(PendingLimits{1, size_t{1} << 20});
  pending.add("alice", message("m1"));
  pending.add("alice", message("m2"));  // m1 dropped
  EXPECT_TRUE(pending.add("alice", message("m1")));
  EXPECT_EQ(ids(pending.of("alice")), std::vector<std::string>{"m1"});
  EXPECT_EQ(state_of(pending, "m1", "alice"), MessageState::State::Pending);
  EXPECT_EQ(state_of(pending, "m2", "alice"), MessageState::State::Dropped);
}

TEST(PendingMessages, AnAckEndsItForThatUserOnly) {
  PendingMessages pending(PendingLimits{});
  pending.add("alice", message("m1"));
  pending.add("bob", message("m1"));
  EXPECT_TRUE(pending.acked("alice", "m1"));
  EXPECT_FALSE(pending.acked("alice", "m1")) << "a second ack finds nothing";
  EXPECT_TRUE(pending.of("alice").empty());
  EXPECT_EQ(ids(pending.of("bob")), std::vector<std::string>{"m1"});
  EXPECT_FALSE(pending.add("alice", message("m1"))) << "never kept again once acked";
  EXPECT_EQ(state_of(pending, "m1", "alice"), MessageState::State::Acked);
  EXPECT_EQ(state_of(pending, "m1", "bob"), MessageState::State::Pending);
}

TEST(PendingMessages, ExpiredMessagesAreNotGivenAndSaySo) {
  PendingMessages pending(PendingLimits{});
  pending.add("alice", message("short", 20ms));
  pending.add("alice", message("long", 60s));
  std::this_thread::sleep_for(40ms);
  EXPECT_EQ(ids(pending.of("alice")), std::vector<std::string>{"long"});
  EXPECT_EQ(state_of(pending, "short", "alice"), MessageState::State::Expired);
  EXPECT_FALSE(pending.add("alice", message("late", 0ms))) << "nothing past its time is kept";
}

TEST(PendingMessages, PerUserBoundDropsTheOldest) {
  PendingMessages pending(PendingLimits{2, size_t{1} << 20});
  pending.add("alice", message("m1"));
  pending.add("alice", message("m2"));
  pending.add("alice", message("m3"));
  EXPECT_EQ(ids(pending.of("alice")), (std::vector<std::string>{"m2", "m3"}));
  EXPECT_EQ(state_of(pending, "m1", "alice"), MessageState::State::Dropped);
}

TEST(PendingMessages, TotalBoundDropsTheOldestOfAnyUser) {
  PendingMessages pending(PendingLimits{1000, 1});  // any message is over: only the newest stays
  pending.add("alice", message("m1"));
  pending.add("bob", message("m2"));
  EXPECT_LE(pending.pending_count(), 1u);
  EXPECT_TRUE(pending.of("alice").empty());
  EXPECT_EQ(state_of(pending, "m1", "alice"), MessageState::State::Dropped);
}

}  // namespace pending_test
}  // namespace herald::push
