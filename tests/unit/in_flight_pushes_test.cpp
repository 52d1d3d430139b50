// An acked room or "all" push is kept for a session caught between the read of the dropped
// sessions and the loops' sending: one that drops from a loop that has not sent the push yet, and
// one taken out of the store before the read while the push had passed its new loop. Sessions
// that the read saw, or that a loop reached, get nothing more.
#include "push/in_flight_pushes.hpp"
#include "push/user_data.hpp"

#include <gtest/gtest.h>

#include <map>
#include <thread>

namespace herald::push {
namespace in_flight_pushes_test {

using Clock = std::chrono::steady_clock;

class InFlight : public ::testing::Test {
 protected:
  // Two loops; each keep is recorded as user -> msgIds.
  InFlightPushes pushes_{2, [this](const std::string& uid, const std::vector<PendingMessage>& messages) {
                           for (const auto& message : messages) kept_[uid].push_back(message.msg_id);
                         }};
  std::map<std::string, std::vector<std::string>> kept_;

  uint64_t arrive(const std::string& msg_id, std::vector<std::string> rooms = {}) {
    PushRequest request;
    request.kind = rooms.empty() ? PushRequest::Kind::All : PushRequest::Kind::Rooms;
    request.targets = std::move(rooms);
    request.msg_id = msg_id;
    auto now = std::chrono::system_clock::now();
    return pushes_.arrived(request,
                           PendingMessage{msg_id, "message", socketio::Json("hi"), now, now + std::chrono::minutes(1)});
  }
  static socketio::RecoveredSession session(const std::string& user, std::vector<std::string> rooms = {},
                                            Clock::time_point disconnected = Clock::now()) {
    socketio::RecoveredSession session;
    session.sid = "sid-" + user;
    session.attached = UserData::make(user, 0);
    session.rooms = std::move(rooms);
    session.disconnected = disconnected;
    return session;
  }
};

TEST_F(InFlight, ASocketDroppingBeforeItsLoopSentThePushGetsItKept) {
  uint64_t push = arrive("m1");
  pushes_.dropped_sessions_read(push, 0);
  pushes_.acked_broadcast_sending(0, "m1");
  pushes_.dropped_from(1, session("late"));   // loop 1 has not sent it
  pushes_.dropped_from(0, session("early"));  // loop 0 sent it to this socket
  EXPECT_EQ(kept_["late"], std::vector<std::string>{"m1"});
  EXPECT_FALSE(kept_.contains("early"));
}

TEST_F(InFlight, ARoomPushIsKeptOnlyForSessionsInOneOfItsRooms) {
  uint64_t push = arrive("m1", {"news"});
  pushes_.dropped_sessions_read(push, 0);
  pushes_.dropped_from(0, session("reader", {"sports", "news"}));
  pushes_.dropped_from(0, session("other", {"sports"}));
  pushes_.dropped_from(0, session("", {"news"}));  // not logged in: nobody to keep it for
  EXPECT_EQ(kept_["reader"], std::vector<std::string>{"m1"});
  EXPECT_FALSE(kept_.contains("other"));
  EXPECT_EQ(kept_.size(), 1U);
}

TEST_F(InFlight, ASessionTakenBeforeTheReadGetsThePushKept) {
  auto dropped = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the push arrives after the drop
  uint64_t push = arrive("m1");
  pushes_.taken(session("before_read", {}, dropped), 4, std::nullopt);  // not read yet
  pushes_.dropped_sessions_read(push, 5);
  pushes_.taken(session("taken_fourth", {}, dropped), 5, std::nullopt);  // the read did not see it
  pushes_.taken(session("seen", {}, dropped), 6, std::nullopt);          // the read saw it: kept there
  EXPECT_EQ(kept_["before_read"], std::vector<std::string>{"m1"});
  EXPECT_EQ(kept_["taken_fourth"], std::vector<std::string>{"m1"});
  EXPECT_FALSE(kept_.contains("seen"));
}

TEST_F(InFlight, ASessionBackOnALoopThatHasNotSentThePushGetsItLive) {
  auto dropped = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  arrive("m1");
  pushes_.acked_broadcast_sending(1, "m1");
  pushes_.taken(session("waiting", {}, dropped), 1, 0);  // loop 0 sends it after
  pushes_.taken(session("passed", {}, dropped), 2, 1);   // loop 1 sent it before it came back
  EXPECT_FALSE(kept_.contains("waiting"));
  EXPECT_EQ(kept_["passed"], std::vector<std::string>{"m1"});
}

TEST_F(InFlight, ASessionThatDroppedAfterThePushArrivedIsLeftToTheDropCheck) {
  uint64_t push = arrive("m1");
  auto dropped = Clock::now();
  pushes_.dropped_sessions_read(push, 0);
  pushes_.taken(session("later", {}, dropped + std::chrono::milliseconds(1)), 1, std::nullopt);
  EXPECT_FALSE(kept_.contains("later"));
}

TEST_F(InFlight, APushSentEverywhereAndReadIsForgotten) {
  uint64_t push = arrive("m1");
  pushes_.acked_broadcast_sending(0, "m1");
  pushes_.acked_broadcast_sending(1, "m1");
  EXPECT_EQ(pushes_.size(), 1U);  // the read is still to come
  pushes_.dropped_sessions_read(push, 0);
  EXPECT_EQ(pushes_.size(), 0U);
  pushes_.dropped_from(0, session("after"));
  EXPECT_TRUE(kept_.empty());
}

TEST_F(InFlight, AReusedMsgIdIsMatchedInOrderOfArrival) {
  uint64_t first = arrive("same");
  uint64_t second = arrive("same");
  pushes_.dropped_sessions_read(first, 0);
  pushes_.dropped_sessions_read(second, 0);
  pushes_.acked_broadcast_sending(0, "same");  // the first one
  pushes_.dropped_from(0, session("u"));       // the second is still to come on loop 0
  EXPECT_EQ(kept_["u"], std::vector<std::string>{"same"});
  pushes_.acked_broadcast_sending(0, "same");
  pushes_.acked_broadcast_sending(1, "same");
  pushes_.acked_broadcast_sending(1, "same");
  EXPECT_EQ(pushes_.size(), 0U);
}

TEST_F(InFlight, ABroadcastThatIsNoWatchedPushChangesNothing) {
  uint64_t push = arrive("m1");
  pushes_.dropped_sessions_read(push, 0);
  pushes_.acked_broadcast_sending(0, "other");
  pushes_.acked_broadcast_sending(7, "m1");  // no such loop
  pushes_.dropped_from(0, session("u"));
  EXPECT_EQ(kept_["u"], std::vector<std::string>{"m1"});
}

}  // namespace in_flight_pushes_test
}  // namespace herald::push
