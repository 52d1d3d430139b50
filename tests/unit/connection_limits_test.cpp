// Open connections per client address: a slot per connection up to the limit, given back when the
// connection ends (the slot is destroyed, moved from, or released).
#include "net/connection_limits.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace herald::net {
namespace connection_limits_test {

TEST(ConnectionsPerAddress, RefusesPastTheLimitPerAddress) {
  ConnectionsPerAddress limits(2);
  auto a1 = limits.acquire("192.0.2.1");
  auto a2 = limits.acquire("192.0.2.1");
  EXPECT_TRUE(a1);
  EXPECT_TRUE(a2);
  EXPECT_FALSE(limits.acquire("192.0.2.1"));
  EXPECT_TRUE(limits.acquire("192.0.2.2")) << "another address has its own count";
  EXPECT_EQ(limits.count("192.0.2.1"), 2u);
}

TEST(ConnectionsPerAddress, SlotsComeBackWhenDestroyedReleasedOrMovedOver) {
  ConnectionsPerAddress limits(1);
  {
    auto slot = limits.acquire("2001:db8::1");
    EXPECT_TRUE(slot);
  }
  auto slot = limits.acquire("2001:db8::1");
  ASSERT_TRUE(slot);
  slot.release();
  EXPECT_EQ(limits.count("2001:db8::1"), 0u);
  slot = limits.acquire("2001:db8::1");
  ConnectionsPerAddress::Slot moved(std::move(slot));
  EXPECT_FALSE(slot);  // NOLINT(bugprone-use-after-move): a moved-from slot is empty
  EXPECT_EQ(limits.count("2001:db8::1"), 1u);
  moved = ConnectionsPerAddress::Slot();
  EXPECT_EQ(limits.count("2001:db8::1"), 0u);
}

TEST(ConnectionsPerAddress, ARefusedSlotGivesNothingBack) {
  ConnectionsPerAddress limits(1);
  auto held = limits.acquire("192.0.2.9");
  { auto refused = limits.acquire("192.0.2.9"); }
  EXPECT_EQ(limits.count("192.0.2.9"), 1u);
}

}  // namespace connection_limits_test
}  // namespace herald::net
