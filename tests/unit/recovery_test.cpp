// socketio::Recovery: pids that only this process can make, the broadcast log (offsets, order,
// eviction by window and bytes) and the sessions of dropped sockets (one return each).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "socketio/recovery.hpp"

namespace herald::socketio {
namespace {

using namespace std::chrono_literals;

RecoveryConfig config(std::chrono::milliseconds window = 60s, size_t max_bytes = size_t{1} << 20) {
  RecoveryConfig c;
  c.window = window;
  c.max_log_bytes = max_bytes;
  return c;
}

// Appends a broadcast to `rooms` and returns its seq; `offsets` collects the offsets given out.
uint64_t append(Recovery& recovery, std::vector<std::string> rooms = {}, std::vector<std::string>* offsets = nullptr) {
  Target target{std::move(rooms), {}, {}, Json::object()};
  return recovery
      .append(target,
              [&](std::string offset) {
                if (offsets) offsets->push_back(offset);
                return to_engine_packets(Packet{PacketType::Event, "/", std::nullopt, Json::array({"e", offset})});
              })
      .first;
}

RecoveredSession session(std::string sid, uint64_t base) {
  return RecoveredSession{std::move(sid), {"room"}, "alice", 7, Json{{"k", 1}}, base, {}};
}

TEST(Recovery, PidsNameTheirSocketAndCannotBeForged) {
  Recovery recovery(config());
  std::string pid = recovery.pid_of("socket-id-1");
  EXPECT_TRUE(pid.starts_with("socket-id-1."));
  EXPECT_EQ(recovery.sid_of(pid), "socket-id-1");
  std::string forged = pid;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(recovery.sid_of(forged), std::nullopt);
  EXPECT_EQ(recovery.sid_of("socket-id-2" + pid.substr(pid.find('.'))), std::nullopt);
  EXPECT_EQ(recovery.sid_of("no-dot"), std::nullopt);
  // Another process (another key) does not accept it.
  Recovery other(config());
  EXPECT_EQ(other.sid_of(pid), std::nullopt);
}

TEST(Recovery, OffsetsFollowTheLogOrderAndGoIntoThePackets) {
  Recovery recovery(config());
  std::vector<std::string> offsets;
  EXPECT_EQ(append(recovery, {}, &offsets), 1u);
  EXPECT_EQ(append(recovery, {}, &offsets), 2u);
  EXPECT_EQ(offsets, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(recovery.head(), 2u);
}

TEST(Recovery, RestoreGivesTheSessionAndWhatCameAfterTheOffsetOnce) {
  Recovery recovery(config());
  append(recovery);
  append(recovery);
  recovery.persist(recovery.pid_of("s1"), session("s1", 0));
  append(recovery, {"room"});
  auto restored = recovery.restore(recovery.pid_of("s1"), "1");
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->session.sid, "s1");
  EXPECT_EQ(restored->session.user, "alice");
  EXPECT_EQ(restored->session.rooms, std::vector<std::string>{"room"});
  ASSERT_EQ(restored->missed.size(), 2u);
  EXPECT_EQ(restored->missed[0].seq, 2u);
  EXPECT_EQ(restored->missed[1].seq, 3u);
  EXPECT_EQ(restored->missed[1].target.rooms, std::vector<std::string>{"room"});
  EXPECT_EQ(restored->head, 3u);
  EXPECT_FALSE(recovery.restore(recovery.pid_of("s1"), "1")) << "one return per drop";
}

TEST(Recovery, WithoutAnOffsetOrWithTextTheSessionBaseIsTheStart) {
  Recovery recovery(config());
  append(recovery);
  recovery.persist(recovery.pid_of("a"), session("a", 1));
  recovery.persist(recovery.pid_of("b"), session("b", 1));
  append(recovery);
  auto none = recovery.restore(recovery.pid_of("a"), std::nullopt);
  ASSERT_TRUE(none);
  ASSERT_EQ(none->missed.size(), 1u);
  EXPECT_EQ(none->missed[0].seq, 2u);
  auto text = recovery.restore(recovery.pid_of("b"), std::string("bob logged in twice"));
  ASSERT_TRUE(text);
  EXPECT_EQ(text->missed.size(), 1u);
}

TEST(Recovery, NothingWhenWhatWasMissedLeftTheLog) {
  // Each entry is well over 100 bytes: a 300-byte log keeps the last two at most.
  Recovery recovery(config(60s, 300));
  recovery.persist(recovery.pid_of("s"), session("s", 0));
  for (int i = 0; i < 5; ++i) append(recovery);
  EXPECT_LE(recovery.log_entries(), 2u);
  EXPECT_FALSE(recovery.restore(recovery.pid_of("s"), "1"));
}

TEST(Recovery, SessionsAndEntriesExpireWithTheWindow) {
  Recovery recovery(config(30ms));
  append(recovery);
  recovery.persist(recovery.pid_of("s"), session("s", 0));
  std::this_thread::sleep_for(60ms);
  append(recovery);  // evicts what is older than the window
  EXPECT_EQ(recovery.log_entries(), 1u);
  EXPECT_EQ(recovery.sessions(), 0u);
  EXPECT_FALSE(recovery.restore(recovery.pid_of("s"), "1"));
}

TEST(Recovery, UnknownPidRestoresNothing) {
  Recovery recovery(config());
  EXPECT_FALSE(recovery.restore(recovery.pid_of("never-persisted"), std::nullopt));
}

}  // namespace
}  // namespace herald::socketio
