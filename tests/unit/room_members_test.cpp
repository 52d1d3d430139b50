// socketio::LoopSockets::RoomMembers: the sockets of one room on one loop, held as a single pointer
// while the room has one member (each user's own room) and as a hash set from the second on. The
// members are only compared and visited, never dereferenced here, so stand-ins do.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <vector>

#include "socketio/loop_sockets.hpp"

namespace herald::socketio {
namespace room_members_test {

using RoomMembers = LoopSockets::RoomMembers;

// Distinct addresses to stand for sockets.
std::array<char, 4> storage;
Socket* stand_in(size_t i) { return reinterpret_cast<Socket*>(&storage[i]); }

std::vector<Socket*> members(const RoomMembers& room) {
  std::vector<Socket*> out;
  room.for_each([&](Socket* socket) { out.push_back(socket); });
  std::sort(out.begin(), out.end());
  return out;
}

TEST(RoomMembers, StartsEmpty) {
  RoomMembers room;
  EXPECT_TRUE(room.empty());
  EXPECT_TRUE(members(room).empty());
}

TEST(RoomMembers, OneMemberIsVisitedOnce) {
  RoomMembers room;
  room.insert(stand_in(0));
  room.insert(stand_in(0));  // joining twice is one membership
  EXPECT_FALSE(room.empty());
  EXPECT_EQ(members(room), std::vector<Socket*>{stand_in(0)});
  room.erase(stand_in(0));
  EXPECT_TRUE(room.empty());
}

TEST(RoomMembers, GrowsToManyAndShrinksBackToEmpty) {
  RoomMembers room;
  for (size_t i = 0; i < 3; ++i) room.insert(stand_in(i));
  room.insert(stand_in(1));
  EXPECT_EQ(members(room), (std::vector<Socket*>{stand_in(0), stand_in(1), stand_in(2)}));
  room.erase(stand_in(1));
  EXPECT_EQ(members(room), (std::vector<Socket*>{stand_in(0), stand_in(2)}));
  room.erase(stand_in(0));
  EXPECT_EQ(members(room), std::vector<Socket*>{stand_in(2)});
  EXPECT_FALSE(room.empty());
  room.erase(stand_in(2));
  EXPECT_TRUE(room.empty()) << "the last member leaves: the room can be dropped";
  EXPECT_TRUE(members(room).empty());
}

TEST(RoomMembers, ErasingANonMemberChangesNothing) {
  RoomMembers room;
  room.erase(stand_in(0));
  EXPECT_TRUE(room.empty());
  room.insert(stand_in(0));
  room.erase(stand_in(1));
  EXPECT_EQ(members(room), std::vector<Socket*>{stand_in(0)});
  room.insert(stand_in(1));
  room.erase(stand_in(3));
  EXPECT_EQ(members(room), (std::vector<Socket*>{stand_in(0), stand_in(1)}));
}

TEST(RoomMembers, ASecondMemberAfterTheFirstLeftIsSingleAgain) {
  RoomMembers room;
  room.insert(stand_in(0));
  room.erase(stand_in(0));
  room.insert(stand_in(1));
  EXPECT_EQ(members(room), std::vector<Socket*>{stand_in(1)});
  room.insert(stand_in(2));
  EXPECT_EQ(members(room), (std::vector<Socket*>{stand_in(1), stand_in(2)}));
}

}  // namespace room_members_test
}  // namespace herald::socketio
