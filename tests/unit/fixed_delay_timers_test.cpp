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

std::shared_ptr<Owner> owner(const std::string& name, std::vector<std::string>& log) {
  return std::make_shared<Owner>(Owner{name, &log, Clock::time_point::max(), {}});
}

TEST(FixedDelayTimers, FiresEachDelayInDeadlineOrderAcrossQueues) {
  boost::asio::io_context loop;
  FixedDelayTimers<Owner> timers(loop);
  std::vector<std::string> log;
  auto slow = owner("slow", log);
  auto fast = owner("fast", log);
  auto middle = owner("middle", log);
  slow->wanted = timers.schedule(slow, milliseconds(60));
  fast->wanted = timers.schedule(fast, milliseconds(10));
  middle->wanted = timers.schedule(middle, milliseconds(30));
  auto started = Clock::now();
  loop.run();
  EXPECT_EQ(log, (std::vector<std::string>{"fast", "middle", "slow"}));
  EXPECT_GE(Clock::now() - started, milliseconds(60));
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(FixedDelayTimers, DoesNotFireEarly) {
  boost::asio::io_context loop;
  FixedDelayTimers<Owner> timers(loop);
  std::vector<std::string> log;
  auto a = owner("a", log);
  Clock::time_point fired{};
  a->then = [&] { fired = Clock::now(); };
  auto scheduled = Clock::now();
  a->wanted = timers.schedule(a, milliseconds(40));
  loop.run();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_GE(fired - scheduled, milliseconds(40));
  EXPECT_GE(fired, a->wanted);
}

TEST(FixedDelayTimers, ReplacedDeadlinesAndGoneOwnersAreSkipped) {
  boost::asio::io_context loop;
  FixedDelayTimers<Owner> timers(loop);
  std::vector<std::string> log;
  auto kept = owner("kept", log);
  auto gone = owner("gone", log);
  timers.schedule(kept, milliseconds(10));  // replaced below: not wanted any more
  kept->wanted = timers.schedule(kept, milliseconds(30));
  gone->wanted = timers.schedule(gone, milliseconds(10));
  EXPECT_EQ(timers.pending(), 3u);
  gone.reset();
  loop.run();
  EXPECT_EQ(log, (std::vector<std::string>{"kept"}));
}

TEST(FixedDelayTimers, AnOwnerMayScheduleAgainFromItsCallback) {
  boost::asio::io_context loop;
  FixedDelayTimers<Owner> timers(loop);
  std::vector<std::string> log;
  auto beat = owner("beat", log);
  int beats = 0;
  beat->then = [&] {
    if (++beats < 3) beat->wanted = timers.schedule(beat, milliseconds(5));
  };
  beat->wanted = timers.schedule(beat, milliseconds(5));
  loop.run();
  EXPECT_EQ(beats, 3);
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(FixedDelayTimers, AnEarlierDeadlineOfAnotherDelayRearmsTheTimer) {
  boost::asio::io_context loop;
  FixedDelayTimers<Owner> timers(loop);
  std::vector<std::string> log;
  auto late = owner("late", log);
  auto early = owner("early", log);
  late->wanted = timers.schedule(late, milliseconds(500));
  early->wanted = timers.schedule(early, milliseconds(5));
  loop.run_for(milliseconds(200));
  EXPECT_EQ(log, (std::vector<std::string>{"early"}));
}

}  // namespace
}  // namespace herald::net
