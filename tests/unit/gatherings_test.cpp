// A request sent before the servers are counted (a server-side emit with acks, published at once so
// it keeps its place before a push) gathers the answers that come before the count, and ends when
// the count says they are all in, or incomplete when the servers cannot be counted.
#include "cluster/gatherings.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace herald::cluster {
namespace gatherings_test {

struct Outcome {
  size_t taken = 0;
  std::optional<bool> complete;
};

Gatherings::Gathering counting(Outcome& outcome) {
  return Gatherings::Gathering{"test", 0,
                               [&outcome](Body& body) {
                                 if (!std::holds_alternative<msg::ServerSideReply>(body)) return false;
                                 ++outcome.taken;
                                 return true;
                               },
                               [&outcome](bool complete) { outcome.complete = complete; }};
}

Body reply() { return msg::ServerSideReply{"req", nullptr}; }

TEST(Gatherings, AnswersBeforeTheCountCountTowardsIt) {
  boost::asio::io_context loop;
  auto gatherings = std::make_shared<Gatherings>(loop);
  Outcome outcome;
  gatherings->start_uncounted("req", std::chrono::seconds(5), counting(outcome));
  Body first = reply();
  Body second = reply();
  EXPECT_TRUE(gatherings->answer("req", first));
  EXPECT_TRUE(gatherings->answer("req", second));
  EXPECT_FALSE(outcome.complete.has_value()) << "not done before the servers are counted";
  gatherings->counted("req", 3, true);
  EXPECT_FALSE(outcome.complete.has_value()) << "two of three answered";
  Body third = reply();
  gatherings->answer("req", third);
  ASSERT_TRUE(outcome.complete.has_value());
  EXPECT_TRUE(*outcome.complete);
  EXPECT_EQ(outcome.taken, 3u);
}

TEST(Gatherings, ACountAlreadyMetEndsItAtOnce) {
  boost::asio::io_context loop;
  auto gatherings = std::make_shared<Gatherings>(loop);
  Outcome outcome;
  gatherings->start_uncounted("req", std::chrono::seconds(5), counting(outcome));
  Body first = reply();
  gatherings->answer("req", first);
  gatherings->counted("req", 1, true);
  ASSERT_TRUE(outcome.complete.has_value());
  EXPECT_TRUE(*outcome.complete);
  Body late = reply();
  EXPECT_FALSE(gatherings->answer("req", late)) << "finished: nothing waits any more";
}

TEST(Gatherings, NoOtherServerEndsItComplete) {
  boost::asio::io_context loop;
  auto gatherings = std::make_shared<Gatherings>(loop);
  Outcome outcome;
  gatherings->start_uncounted("req", std::chrono::seconds(5), counting(outcome));
  gatherings->counted("req", 0, true);
  ASSERT_TRUE(outcome.complete.has_value());
  EXPECT_TRUE(*outcome.complete);
}

TEST(Gatherings, ServersThatCannotBeCountedEndItIncomplete) {
  boost::asio::io_context loop;
  auto gatherings = std::make_shared<Gatherings>(loop);
  Outcome outcome;
  gatherings->start_uncounted("req", std::chrono::seconds(5), counting(outcome));
  gatherings->counted("req", 0, false);
  ASSERT_TRUE(outcome.complete.has_value());
  EXPECT_FALSE(*outcome.complete);
}

TEST(Gatherings, UnansweredEndsIncompleteAtTheTimeout) {
  boost::asio::io_context loop;
  auto gatherings = std::make_shared<Gatherings>(loop);
  Outcome outcome;
  gatherings->start_uncounted("req", std::chrono::milliseconds(1), counting(outcome));
  gatherings->counted("req", 2, true);
  Body first = reply();
  gatherings->answer("req", first);
  loop.run();
  ASSERT_TRUE(outcome.complete.has_value());
  EXPECT_FALSE(*outcome.complete);
  EXPECT_EQ(outcome.taken, 1u);
}

}  // namespace gatherings_test
}  // namespace herald::cluster
