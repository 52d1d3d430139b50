// herald-bench churn's copy of socket.io-client's connection state recovery: what it sends in
// CONNECT, when it counts a session as recovered, and which events move the offset.
#include "churn/recovery_state.hpp"

#include <gtest/gtest.h>

namespace herald::bench {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

TEST(RecoveryState, FirstConnectSendsOnlyTheOwnAuth) {
  RecoveryState state;
  EXPECT_EQ(state.connect_packet("/", nullptr), "0");
  EXPECT_EQ(state.connect_packet("/heikuai", nullptr), "0/heikuai,");
  EXPECT_EQ(state.connect_packet("/", OrderedJson{{"uid", "u1"}}), R"(0{"uid":"u1"})");
}

TEST(RecoveryState, ReconnectSendsPidOffsetThenTheOwnAuth) {
  RecoveryState state;
  EXPECT_FALSE(state.on_connect_answer(Json{{"sid", "s1"}, {"pid", "p1"}}));
  // No event with an offset yet: the offset is left out, as JSON.stringify drops undefined.
  EXPECT_EQ(state.connect_packet("/", nullptr), R"(0{"pid":"p1"})");
  state.on_event(Json::array({"message", "m1", Json{{"t", 1}}, "off-1"}), false);
  EXPECT_EQ(state.connect_packet("/", nullptr), R"(0{"pid":"p1","offset":"off-1"})");
  EXPECT_EQ(state.connect_packet("/chat", OrderedJson{{"uid", "u1"}}),
            R"(0/chat,{"pid":"p1","offset":"off-1","uid":"u1"})");
}

TEST(RecoveryState, RecoveredOnlyWhenThePidComesBack) {
  RecoveryState state;
  EXPECT_FALSE(state.on_connect_answer(Json{{"sid", "s1"}, {"pid", "p1"}}));
  EXPECT_TRUE(state.on_connect_answer(Json{{"sid", "s1"}, {"pid", "p1"}}));
  EXPECT_FALSE(state.on_connect_answer(Json{{"sid", "s2"}, {"pid", "p2"}}));
  EXPECT_EQ(state.pid(), "p2");
  // A server without recovery sends no pid: the client forgets its own.
  EXPECT_FALSE(state.on_connect_answer(Json{{"sid", "s3"}}));
  EXPECT_FALSE(state.pid());
  EXPECT_EQ(state.connect_packet("/", nullptr), "0");
}

TEST(RecoveryState, OffsetMovesOnlyWithAPidAndAStringLastArgumentWithoutAck) {
  RecoveryState state;
  state.on_event(Json::array({"message", "m1", "off-0"}), false);
  EXPECT_FALSE(state.offset()) << "no pid: recovery is off";
  state.on_connect_answer(Json{{"sid", "s1"}, {"pid", "p1"}});
  state.on_event(Json::array({"message", "m1", Json{{"t", 1}}}), false);
  EXPECT_FALSE(state.offset()) << "last argument is not a string";
  state.on_event(Json::array({"message", "m2", Json{{"t", 1}}, "off-2"}), false);
  EXPECT_EQ(state.offset(), "off-2");
  // socket.io-client appends the ack callback: the last argument is then a function.
  state.on_event(Json::array({"message", "m3", Json{{"t", 1}}, "off-3"}), true);
  EXPECT_EQ(state.offset(), "off-2");
  state.on_event(Json::array(), false);
  EXPECT_EQ(state.offset(), "off-2");
}

TEST(RecoveryState, OffsetOutlivesANewSession) {
  RecoveryState state;
  state.on_connect_answer(Json{{"sid", "s1"}, {"pid", "p1"}});
  state.on_event(Json::array({"message", "m1", "off-1"}), false);
  state.on_connect_answer(Json{{"sid", "s2"}, {"pid", "p2"}});
  EXPECT_EQ(state.connect_packet("/", nullptr), R"(0{"pid":"p2","offset":"off-1"})");
}

}  // namespace
}  // namespace herald::bench
