// push::RedeliveryLedger: a kept push goes to a socket once until that socket answers, not again
// for the quiet period after its ack, and again at once when the socket did not ack it.
#include <gtest/gtest.h>

#include <chrono>

#include "push/redelivery_ledger.hpp"

namespace herald::push {
namespace redelivery_ledger_test {

using namespace std::chrono_literals;
using Clock = RedeliveryLedger::Clock;

TEST(RedeliveryLedger, SendsOnceUntilTheSocketAnswers) {
  RedeliveryLedger ledger(10s);
  auto now = Clock::time_point{} + 1h;  // any point: the ledger reads only the times it is given
  EXPECT_TRUE(ledger.begin("s1", "m1", now));
  EXPECT_FALSE(ledger.begin("s1", "m1", now + 1s)) << "a second announcement while the first send waits";
  EXPECT_FALSE(ledger.begin("s1", "m1", now + 60s)) << "still waiting: its ack timeout answers it";
  EXPECT_TRUE(ledger.begin("s1", "m2", now)) << "another push";
  EXPECT_TRUE(ledger.begin("s2", "m1", now)) << "another socket of the user";
}

TEST(RedeliveryLedger, QuietForAWhileAfterTheAck) {
  RedeliveryLedger ledger(10s);
  auto now = Clock::time_point{} + 1h;  // any point: the ledger reads only the times it is given
  ASSERT_TRUE(ledger.begin("s1", "m1", now));
  ledger.answered("s1", "m1", true, now + 1s);
  EXPECT_FALSE(ledger.begin("s1", "m1", now + 2s)) << "the store may still list it: its ack is on its way";
  EXPECT_FALSE(ledger.begin("s1", "m1", now + 10s));
  EXPECT_TRUE(ledger.begin("s1", "m1", now + 12s)) << "after the quiet period (kept again, a new push)";
}

TEST(RedeliveryLedger, SentAgainAtOnceWhenNotAcked) {
  RedeliveryLedger ledger(10s);
  auto now = Clock::time_point{} + 1h;  // any point: the ledger reads only the times it is given
  ASSERT_TRUE(ledger.begin("s1", "m1", now));
  ledger.answered("s1", "m1", false, now + 1s);  // timed out, or the socket closed
  EXPECT_TRUE(ledger.begin("s1", "m1", now + 1s));
  EXPECT_EQ(ledger.sockets(), 1u);
}

TEST(RedeliveryLedger, ForgetsSocketsOnceTheirAcksAreOld) {
  RedeliveryLedger ledger(10s);
  auto now = Clock::time_point{} + 1h;  // any point: the ledger reads only the times it is given
  for (int i = 0; i < 100; ++i) {
    std::string sid = "s" + std::to_string(i);
    ASSERT_TRUE(ledger.begin(sid, "m1", now));
    ledger.answered(sid, "m1", true, now);
  }
  ASSERT_TRUE(ledger.begin("waiting", "m1", now));
  EXPECT_EQ(ledger.sockets(), 101u);
  EXPECT_TRUE(ledger.begin("late", "m2", now + 11s));  // prunes
  EXPECT_EQ(ledger.sockets(), 2u) << "only the sockets still waiting or within the quiet period";
  ledger.answered("gone", "m1", true, now);  // never sent: nothing to note
  EXPECT_EQ(ledger.sockets(), 2u);
}

}  // namespace redelivery_ledger_test
}  // namespace herald::push
