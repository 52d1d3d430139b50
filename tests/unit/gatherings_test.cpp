// A request sent before the servers are counted (a server-side emit with acks, published at once so
// it keeps its place before a push) gathers the answers that come before the count, and ends when
// the count says they are all in, or incomplete when the servers cannot be counted.
#include "cluster/gatherings.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace herald::cluster {
namespace gatherings_test {

// One request, "req", gathered on a loop that runs only when a test runs it (for the timeout).
class UncountedGathering : public ::testing::Test {
 protected:
  void start(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    gatherings_->start_uncounted("req", timeout,
                                 Gatherings::Gathering{"test", 0,
                                                       [this](Body& body) {
                                                         if (!std::holds_alternative<msg::ServerSideReply>(body))
                                                           return false;
                                                         ++taken_;
                                                         return true;
                                                       },
                                                       [this](bool complete) { complete_ = complete; }});
  }
  bool answer() {
    Body body = msg::ServerSideReply{"req", nullptr};
    return gatherings_->answer("req", body);
  }

  boost::asio::io_context loop_;
  std::shared_ptr<Gatherings> gatherings_ = std::make_shared<Gatherings>(loop_);
  size_t taken_ = 0;
  std::optional<bool> complete_;
};

TEST_F(UncountedGathering, AnswersBeforeTheCountCountTowardsIt) {
  start();
  EXPECT_TRUE(answer());
  EXPECT_TRUE(answer());
  EXPECT_FALSE(complete_.has_value()) << "not done before the servers are counted";
  gatherings_->counted("req", 3, true);
  EXPECT_FALSE(complete_.has_value()) << "two of three answered";
  answer();
  ASSERT_TRUE(complete_.has_value());
  EXPECT_TRUE(*complete_);
  EXPECT_EQ(taken_, 3u);
}

TEST_F(UncountedGathering, ACountAlreadyMetEndsItAtOnce) {
  start();
  answer();
  gatherings_->counted("req", 1, true);
  ASSERT_TRUE(complete_.has_value());
  EXPECT_TRUE(*complete_);
  EXPECT_FALSE(answer()) << "finished: nothing waits any more";
}

TEST_F(UncountedGathering, NoOtherServerEndsItComplete) {
  start();
  gatherings_->counted("req", 0, true);
  ASSERT_TRUE(complete_.has_value());
  EXPECT_TRUE(*complete_);
}

TEST_F(UncountedGathering, ServersThatCannotBeCountedEndItIncomplete) {
  start();
  gatherings_->counted("req", 0, false);
  ASSERT_TRUE(complete_.has_value());
  EXPECT_FALSE(*complete_);
}

TEST_F(UncountedGathering, UnansweredEndsIncompleteAtTheTimeout) {
  start(std::chrono::milliseconds(1));
  gatherings_->counted("req", 2, true);
  answer();
  loop_.run();
  ASSERT_TRUE(complete_.has_value());
  EXPECT_FALSE(*complete_);
  EXPECT_EQ(taken_, 1u);
}

}  // namespace gatherings_test
}  // namespace herald::cluster
