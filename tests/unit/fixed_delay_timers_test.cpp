// net::FixedDelayTimers: one alarm per loop serving many owners with a few fixed delays. Driven by
// a manual net::Clock, so each deadline is checked to the nanosecond and no test waits; one test
// runs them on the steady clock, the production path.
#include "net/fixed_delay_timers.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace herald::net {
namespace fixed_delay_timers_test {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using TimePoint = Clock::time_point;

struct Owner {
  std::string name;
  std::vector<std::string>* log;
  Clock* clock;
  TimePoint wanted = TimePoint::max();
  TimePoint fired{};
  std::function<void()> then;
  void on_deadline(TimePoint deadline) {
    if (deadline != wanted) return;  // replaced by a later deadline
    fired = clock->now();
    log->push_back(name);
    if (then) then();
  }
};

// A loop, a manual clock, the timers on them, and the log of owners fired in order.
class FixedDelayTimersTest : public ::testing::Test {
 protected:
  std::shared_ptr<Owner> owner(const std::string& name) {
    return std::make_shared<Owner>(Owner{name, &log, clock.get(), TimePoint::max(), {}, {}});
  }

  std::unique_ptr<Clock> clock = Clock::manual();
  boost::asio::io_context loop;
  FixedDelayTimers<Owner> timers{loop, *clock};
  std::vector<std::string> log;
};

TEST_F(FixedDelayTimersTest, FiresEachDelayInDeadlineOrderAcrossQueues) {
  auto slow = owner("slow");
  auto fast = owner("fast");
  auto middle = owner("middle");
  auto start = clock->now();
  slow->wanted = timers.schedule(slow, milliseconds(60));
  fast->wanted = timers.schedule(fast, milliseconds(10));
  middle->wanted = timers.schedule(middle, milliseconds(30));
  clock->advance(milliseconds(100));
  EXPECT_EQ(log, (std::vector<std::string>{"fast", "middle", "slow"}));
  EXPECT_EQ(fast->fired - start, milliseconds(10));
  EXPECT_EQ(middle->fired - start, milliseconds(30));
  EXPECT_EQ(slow->fired - start, milliseconds(60));
  EXPECT_EQ(timers.pending(), 0u);
  EXPECT_EQ(clock->alarms(), 0u) << "nothing left to wait for: the alarm is not set";
}

TEST_F(FixedDelayTimersTest, FiresAtTheDeadlineNotBefore) {
  auto a = owner("a");
  a->wanted = timers.schedule(a, milliseconds(40));
  clock->advance(milliseconds(40) - nanoseconds(1));
  EXPECT_TRUE(log.empty()) << "fired a nanosecond early";
  clock->advance(nanoseconds(1));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(a->fired, a->wanted);
}

TEST_F(FixedDelayTimersTest, ReplacedDeadlinesAndGoneOwnersAreSkipped) {
  auto kept = owner("kept");
  auto gone = owner("gone");
  timers.schedule(kept, milliseconds(10));  // replaced below: not wanted any more
  kept->wanted = timers.schedule(kept, milliseconds(30));
  gone->wanted = timers.schedule(gone, milliseconds(10));
  EXPECT_EQ(timers.pending(), 3u);
  gone.reset();
  clock->advance(milliseconds(10));
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(timers.pending(), 1u) << "the stale and the orphaned entries are dropped when due";
  clock->advance(milliseconds(20));
  EXPECT_EQ(log, (std::vector<std::string>{"kept"}));
}

TEST_F(FixedDelayTimersTest, AnOwnerMayScheduleAgainFromItsCallback) {
  auto beat = owner("beat");
  std::vector<TimePoint> beats;
  beat->then = [&] {
    beats.push_back(beat->fired);
    if (beats.size() < 3) beat->wanted = timers.schedule(beat, milliseconds(5));
  };
  auto start = clock->now();
  beat->wanted = timers.schedule(beat, milliseconds(5));
  clock->advance(milliseconds(100));
  ASSERT_EQ(beats.size(), 3u);
  EXPECT_EQ(beats[0] - start, milliseconds(5));
  EXPECT_EQ(beats[1] - start, milliseconds(10));
  EXPECT_EQ(beats[2] - start, milliseconds(15));
  EXPECT_EQ(timers.pending(), 0u);
}

TEST_F(FixedDelayTimersTest, AnEarlierDeadlineOfAnotherDelayRearmsTheAlarm) {
  auto late = owner("late");
  auto early = owner("early");
  late->wanted = timers.schedule(late, milliseconds(500));
  early->wanted = timers.schedule(early, milliseconds(5));
  clock->advance(milliseconds(5));
  EXPECT_EQ(log, (std::vector<std::string>{"early"}));
  EXPECT_EQ(clock->alarms(), 1u) << "armed again for the late one";
  clock->advance(milliseconds(495));
  EXPECT_EQ(log, (std::vector<std::string>{"early", "late"}));
}

TEST_F(FixedDelayTimersTest, DeadlinesOfOneDelayFireInTheOrderScheduled) {
  auto first = owner("first");
  auto second = owner("second");
  first->wanted = timers.schedule(first, milliseconds(20));
  clock->advance(milliseconds(1));
  second->wanted = timers.schedule(second, milliseconds(20));
  clock->advance(milliseconds(20));
  EXPECT_EQ(log, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(second->fired - first->fired, milliseconds(1));
}

// The production path: an Asio timer on the steady clock, run by the loop.
TEST(FixedDelayTimersOnTheSteadyClock, TheLoopFiresThemInOrder) {
  boost::asio::io_context loop;
  FixedDelayTimers<Owner> timers{loop};
  std::vector<std::string> log;
  auto make = [&](const char* name) {
    return std::make_shared<Owner>(Owner{name, &log, &Clock::steady(), TimePoint::max(), {}, {}});
  };
  auto slow = make("slow");
  auto fast = make("fast");
  slow->wanted = timers.schedule(slow, milliseconds(4));
  fast->wanted = timers.schedule(fast, milliseconds(1));
  loop.run();
  EXPECT_EQ(log, (std::vector<std::string>{"fast", "slow"}));
  EXPECT_GE(slow->fired, slow->wanted);
  EXPECT_EQ(timers.pending(), 0u);
}

}  // namespace fixed_delay_timers_test
}  // namespace herald::net
