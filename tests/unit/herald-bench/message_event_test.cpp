// herald-bench's scan of `message(msgId, message)` events, straight from the Socket.IO packet.
#include "connect/message_event.hpp"

#include <gtest/gtest.h>

namespace herald::bench {
namespace {

TEST(MessageEvent, ReadsWhatPushSends) {
  auto event = scan_message_event(R"(2["message","p1-7",{"t":1764550000123456,"seq":7,"pad":"xxxx"}])", "/");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->ack_id, "");
  EXPECT_EQ(event->msg_id, "\"p1-7\"");
  EXPECT_EQ(event->push_time_us, 1764550000123456);
}

TEST(MessageEvent, ReadsTheAckIdAndTheNamespace) {
  auto event = scan_message_event(R"(2/chat,12["message",17,{"t":5}])", "/chat");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->ack_id, "12");
  EXPECT_EQ(event->msg_id, "17");
  EXPECT_EQ(event->push_time_us, 5);
  EXPECT_FALSE(scan_message_event(R"(2/chat,12["message",17])", "/"));
  EXPECT_FALSE(scan_message_event(R"(2/other,12["message",17])", "/chat"));
  EXPECT_FALSE(scan_message_event(R"(2["message",17])", "/chat"));
}

TEST(MessageEvent, FindsTheTimeAfterOtherFields) {
  auto event =
      scan_message_event(R"(2["message","m",{"pad":"a\"}b","n":[1,{"t":2}],"x":null, "t" : 1.5e3 ,"z":1}])", "/");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->push_time_us, 1500);
}

TEST(MessageEvent, FindsTheTimeBehindPaddingWithEscapes) {
  auto event = scan_message_event(R"(2["message","m",{"pad":"x\\","q":"\"t\":1","t":4}])", "/");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->push_time_us, 4);
}

TEST(MessageEvent, ReadsLargeAndFractionalTimesAsDoubles) {
  auto beyond_exact = scan_message_event(R"(2["message","m",{"t":9007199254740993}])", "/");
  ASSERT_TRUE(beyond_exact);
  EXPECT_EQ(beyond_exact->push_time_us, static_cast<int64_t>(9007199254740993.0));
  auto event = scan_message_event(R"(2["message","m",{"t":12345678901234567}])", "/");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->push_time_us, static_cast<int64_t>(12345678901234567.0));
  event = scan_message_event(R"(2["message","m",{"t":-2.75}])", "/");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->push_time_us, -2);
}

TEST(MessageEvent, MessagesWithoutANumericTimeAreUnstamped) {
  for (const char* packet :
       {R"(2["message","m"])", R"(2["message","m","text"])", R"(2["message","m",{"seq":1}])",
        R"(2["message","m",{"t":"soon"}])", R"(2["message","m",{}])", R"(2["message","m",{"tt":1}])"}) {
    auto event = scan_message_event(packet, "/");
    ASSERT_TRUE(event) << packet;
    EXPECT_EQ(event->msg_id, "\"m\"") << packet;
    EXPECT_FALSE(event->push_time_us) << packet;
  }
}

TEST(MessageEvent, ToleratesSpaceBetweenTokens) {
  auto event = scan_message_event(R"(23 [ "message" , "m" , { "t" : 9 } ])", "/");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->ack_id, "3");
  EXPECT_EQ(event->msg_id, "\"m\"");
  EXPECT_EQ(event->push_time_us, 9);
}

TEST(MessageEvent, KeepsObjectAndEscapedIdsRaw) {
  auto event = scan_message_event(R"(2["message",{"id":"a]"},{"t":1}])", "/");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->msg_id, R"({"id":"a]"})");
  event = scan_message_event(R"(2["message","a\"b",{"t":1}])", "/");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->msg_id, R"("a\"b")");
}

TEST(MessageEvent, LeavesEverythingElseToTheFullDecoder) {
  for (const char* packet : {R"(0{"sid":"x"})", R"(2["login","u1"])", R"(2["messages","m"])", R"(2["message"])",
                             R"(2["message",])", R"(3["message","m"])", R"(2"message","m")", R"(2["message","m)", ""}) {
    EXPECT_FALSE(scan_message_event(packet, "/")) << packet;
  }
}

}  // namespace
}  // namespace herald::bench
