// herald-bench churn's record of the pushes a client received, filed by the msgId's number.
#include "churn/received_set.hpp"

#include <gtest/gtest.h>

namespace herald::bench {
namespace {

TEST(PushSequence, ReadsTheNumberAfterThePrefix) {
  EXPECT_EQ(push_sequence("churn12-0", "churn12-"), 0u);
  EXPECT_EQ(push_sequence("churn12-417", "churn12-"), 417u);
  EXPECT_FALSE(push_sequence("churn12-", "churn12-"));
  EXPECT_FALSE(push_sequence("churn13-4", "churn12-"));
  EXPECT_FALSE(push_sequence("churn12-4x", "churn12-"));
  EXPECT_FALSE(push_sequence("churn12-04", "churn12-"));
  EXPECT_FALSE(push_sequence("churn12-99999999999999999999", "churn12-"));
}

TEST(ReceivedSet, CountsDistinctPushesAndRefusesDuplicates) {
  ReceivedSet set;
  EXPECT_TRUE(set.insert(0));
  EXPECT_TRUE(set.insert(63));
  EXPECT_TRUE(set.insert(64));
  EXPECT_TRUE(set.insert(1000));
  EXPECT_FALSE(set.insert(63));
  EXPECT_EQ(set.size(), 4u);
  EXPECT_TRUE(set.contains(1000));
  EXPECT_FALSE(set.contains(999));
  EXPECT_FALSE(set.contains(100000));
  EXPECT_FALSE(set.insert(ReceivedSet::kMaxPushes));
  EXPECT_EQ(set.size(), 4u);
}

TEST(ChurnReceivedSet, SpanOfWhatWasRecorded) {
  ReceivedSet set;
  EXPECT_EQ(set.begin(), 0u);
  EXPECT_EQ(set.end(), 0u);
  EXPECT_TRUE(set.insert(7));
  EXPECT_TRUE(set.insert(3));
  EXPECT_TRUE(set.insert(12));
  EXPECT_FALSE(set.insert(ReceivedSet::kMaxPushes));
  EXPECT_EQ(set.begin(), 3u);
  EXPECT_EQ(set.end(), 13u);
}

}  // namespace
}  // namespace herald::bench
