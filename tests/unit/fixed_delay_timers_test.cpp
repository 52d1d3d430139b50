// net::FixedDelayTimers: one Asio timer per loop serving many owners with a few fixed delays.
#include "net/fixed_delay_timers.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace herald::net {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Owner {
  std::string name;
  std::vector<std::string>* log;
  Clock::time_point wanted = Clock::time_point::max();
  std::function<void()> then;
  void on_deadline(Clock::time_point deadline) {
    if (deadline != wanted) return;  // replaced by a later deadline
    log->push_back(name);
    if (then) then();
  }
};

// A loop, its timers, and the log of owners fired in order.
class FixedDelayTimersTest : public ::testing::Test {
 protected:
  std::shared_ptr<Owner> owner(const std::string& name) {
    return std::make_shared<Owner>(Owner{name, &log, Clock::time_point::max(), {}});
  }

  boost::asio::io_context loop;
  FixedDelayTimers<Owner> timers{loop};
  std::vector<std::string> log;
};

TEST_F(FixedDelayTimersTest, FiresEachDelayInDeadlineOrderAcrossQueues) {
  auto slow = owner("slow");
  auto fast = owner("fast");
  auto middle = owner("middle");
  slow->wanted = timers.schedule(slow, milliseconds(60));
  fast->wanted = timers.schedule(fast, milliseconds(10));
  middle->wanted = timers.schedule(middle, milliseconds(30));
  auto started = Clock::now();
  loop.run();
  EXPECT_EQ(log, (std::vector<std::string>{"fast", "middle", "slow"}));
  EXPECT_GE(Clock::now() - started, milliseconds(60));
  EXPECT_EQ(timers.pending(), 0u);
}

TEST_F(FixedDelayTimersTest, DoesNotFireEarly) {
  auto a = owner("a");
  Clock::time_point fired{};
  a->then = [&] { fired = Clock::now(); };
  auto scheduled = Clock::now();
  a->wanted = timers.schedule(a, milliseconds(40));
  loop.run();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_GE(fired - scheduled, milliseconds(40));
  EXPECT_GE(fired, a->wanted);
}

TEST_F(FixedDelayTimersTest, ReplacedDeadlinesAndGoneOwnersAreSkipped) {
  auto kept = owner("kept");
  auto gone = owner("gone");
  timers.schedule(kept, milliseconds(10));  // replaced below: not wanted any more
  kept->wanted = timers.schedule(kept, milliseconds(30));
  gone->wanted = timers.schedule(gone, milliseconds(10));
  EXPECT_EQ(timers.pending(), 3u);
  gone.reset();
  loop.run();
  EXPECT_EQ(log, (std::vector<std::string>{"kept"}));
}

TEST_F(FixedDelayTimersTest, AnOwnerMayScheduleAgainFromItsCallback) {
  auto beat = owner("beat");
  int beats = 0;
  beat->then = [&] {
    if (++beats < 3) beat->wanted = timers.schedule(beat, milliseconds(5));
  };
  beat->wanted = timers.schedule(beat, milliseconds(5));
  loop.run();
  EXPECT_EQ(beats, 3);
  EXPECT_EQ(timers.pending(), 0u);
}

TEST_F(FixedDelayTimersTest, AnEarlierDeadlineOfAnotherDelayRearmsTheTimer) {
  auto late = owner("late");
  auto early = owner("early");
  late->wanted = timers.schedule(late, milliseconds(500));
  early->wanted = timers.schedule(early, milliseconds(5));
  loop.run_for(milliseconds(200));
  EXPECT_EQ(log, (std::vector<std::string>{"early"}));
}

}  // namespace
}  // namespace herald::net
