// socketio::Recovery: pids that only this process can make, the broadcast log (offsets, order,
// eviction by window and bytes) and the sessions of dropped sockets (one return each).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "socketio/recovery.hpp"

namespace herald::socketio {
namespace recovery_test {

using namespace std::chrono_literals;

RecoveryConfig config(std::chrono::milliseconds window = 60s, size_t max_bytes = size_t{1} << 20) {
  RecoveryConfig c;
  c.window = window;
  c.max_log_bytes = max_bytes;
  return c;
}

// Appends a broadcast to `rooms` and returns its seq; `offsets` collects the offsets given out,
// `stamps` the stamps. `remote`: another node's broadcast, as its stamp; `unstamped`: one that came
// from another node without a stamp.
struct Appending {
  std::vector<std::string> rooms;
  std::vector<std::string>* offsets = nullptr;
  std::vector<Stamp>* stamps = nullptr;
  const Stamp* remote = nullptr;
  bool unstamped = false;
};
uint64_t append(Recovery& recovery, Appending how) {
  Target target{std::move(how.rooms), {}, {}, Json::object()};
  auto encode = [&](std::string offset, const Stamp& stamp) {
    if (how.offsets) how.offsets->push_back(offset);
    if (how.stamps) how.stamps->push_back(stamp);
    return to_engine_packets(Packet{PacketType::Event, "/", std::nullopt, Json::array({"e", offset})});
  };
  return recovery.append(target, encode, how.remote, how.unstamped).first;
}
uint64_t append(Recovery& recovery, std::vector<std::string> rooms = {}, std::vector<std::string>* offsets = nullptr) {
  return append(recovery, Appending{std::move(rooms), offsets});
}

// The server's data on the dropped socket.
struct Owner final : SocketData {
  explicit Owner(std::string given) : name(std::move(given)) {}
  std::string name;
};

RecoveredSession session(std::string sid, uint64_t base) {
  return RecoveredSession{std::move(sid), {"room"}, SocketDataPtr(new Owner("alice")), Json{{"k", 1}}, base, {}};
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
  EXPECT_EQ(recovery.origin().size(), 8u);
  EXPECT_EQ(offsets, (std::vector<std::string>{recovery.origin() + "~1", recovery.origin() + "~2"}));
  EXPECT_EQ(recovery.head(), 2u);
}

TEST(Recovery, RestoreGivesTheSessionAndWhatCameAfterTheOffsetOnce) {
  Recovery recovery(config());
  std::vector<std::string> offsets;
  append(recovery, {}, &offsets);
  append(recovery);
  recovery.persist(recovery.pid_of("s1"), session("s1", 0));
  append(recovery, {"room"});
  auto restored = recovery.restore(recovery.pid_of("s1"), offsets[0]);
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->session.sid, "s1");
  ASSERT_NE(attached_as<Owner>(restored->session.attached), nullptr);
  EXPECT_EQ(attached_as<Owner>(restored->session.attached)->name, "alice");
  EXPECT_EQ(restored->session.rooms, std::vector<std::string>{"room"});
  ASSERT_EQ(restored->missed.size(), 2u);
  EXPECT_EQ(restored->missed[0].seq, 2u);
  EXPECT_EQ(restored->missed[1].seq, 3u);
  EXPECT_EQ(restored->missed[1].target.rooms, std::vector<std::string>{"room"});
  EXPECT_EQ(restored->head, 3u);
  EXPECT_FALSE(recovery.restore(recovery.pid_of("s1"), offsets[0])) << "one return per drop";
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
  std::vector<std::string> offsets;
  for (int i = 0; i < 5; ++i) append(recovery, {}, &offsets);
  EXPECT_LE(recovery.log_entries(), 2u);
  EXPECT_FALSE(recovery.restore(recovery.pid_of("s"), offsets[0]));
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

TEST(Recovery, AnEarlierEvictionDoesNotStopARestore) {
  // Entries that left the log before the socket connected are none of its business.
  Recovery recovery(config(60s, 300));
  for (int i = 0; i < 5; ++i) append(recovery);
  std::vector<std::string> offsets;
  recovery.persist(recovery.pid_of("s"), session("s", 5));
  append(recovery, {}, &offsets);
  auto restored = recovery.restore(recovery.pid_of("s"), std::nullopt);
  ASSERT_TRUE(restored);
  ASSERT_EQ(restored->missed.size(), 1u);
  EXPECT_EQ(restored->missed[0].seq, 6u);
}

// Two nodes: each logs its own broadcasts and the other's, under the origin's stamps.
struct TwoNodes {
  Recovery a{config()};
  Recovery b{config()};
  // A broadcast emitted on `from` and received by `to` through Redis.
  void broadcast(Recovery& from, Recovery& to, std::vector<std::string> rooms, std::vector<std::string>* offsets) {
    std::vector<Stamp> stamps;
    append(from, Appending{rooms, offsets, &stamps});
    append(to, Appending{std::move(rooms), nullptr, nullptr, &stamps.back()});
  }
};

TEST(Recovery, AnotherNodeSendsWhatCameAfterTheOffsetItGaveWhateverTheArrivalOrder) {
  TwoNodes nodes;
  std::vector<std::string> on_a;
  nodes.broadcast(nodes.a, nodes.b, {}, &on_a);  // a1
  nodes.broadcast(nodes.b, nodes.a, {}, &on_a);  // b1
  // The client of node A had these two. Then a2 and b2 are emitted at once: B logs b2 before a2,
  // A logs a2 before b2; the client had b2 and not a2 when it dropped.
  std::vector<Stamp> a2;
  std::vector<Stamp> b2;
  append(nodes.a, Appending{{}, &on_a, &a2});
  append(nodes.b, Appending{{}, nullptr, &b2});
  append(nodes.a, Appending{{}, &on_a, nullptr, &b2.back()});
  append(nodes.b, Appending{{}, nullptr, nullptr, &a2.back()});
  ASSERT_EQ(on_a.size(), 4u);
  auto had = RecoveryOffset::parse(on_a[1]);  // after a1 and b1
  ASSERT_TRUE(had);
  EXPECT_EQ(had->seq_of(nodes.a.origin()), 1u);
  EXPECT_EQ(had->seq_of(nodes.b.origin()), 1u);
  auto missed = nodes.b.missed_since(*had, false);
  EXPECT_TRUE(missed.complete);
  ASSERT_EQ(missed.entries.size(), 2u) << "a2 and b2, in B's order";
  EXPECT_EQ(missed.entries[0].origin_seq, 2u);
  EXPECT_EQ(missed.entries[1].origin_seq, 2u);
  EXPECT_EQ(nodes.b.missed_since(*RecoveryOffset::parse(on_a[3]), false).entries.size(), 0u) << "it had everything";
}

TEST(Recovery, UnstampedBroadcastsAreReplayedOnlyByTheNodeThatLoggedThem) {
  TwoNodes nodes;
  std::vector<std::string> on_a;
  nodes.broadcast(nodes.a, nodes.b, {}, &on_a);
  append(nodes.a, Appending{{}, nullptr, nullptr, nullptr, true});  // from a Node emitter
  append(nodes.b, Appending{{}, nullptr, nullptr, nullptr, true});
  auto missed = nodes.b.missed_since(*RecoveryOffset::parse(on_a[0]), false);
  EXPECT_TRUE(missed.complete);
  EXPECT_TRUE(missed.entries.empty()) << "B cannot tell whether the client had it";
  EXPECT_EQ(nodes.a.missed_since(*RecoveryOffset::parse(on_a[0]), true).entries.size(), 1u) << "A can";
}

TEST(Recovery, ANodeThatStartedLaterSaysWhatItNeverSaw) {
  TwoNodes nodes;
  std::vector<std::string> on_a;
  std::vector<Stamp> stamps;
  append(nodes.a, Appending{{}, &on_a, &stamps});
  append(nodes.a, Appending{{}, nullptr, &stamps});
  append(nodes.a, Appending{{}, nullptr, &stamps});
  append(nodes.b, Appending{{}, nullptr, nullptr, &stamps[2]});  // B saw only the third
  auto missed = nodes.b.missed_since(*RecoveryOffset::parse(on_a[0]), false);
  EXPECT_FALSE(missed.complete) << "the second never reached B";
  EXPECT_EQ(missed.entries.size(), 1u);
  Stamp later = stamps[2];
  later.seq = 5;
  append(nodes.b, Appending{{}, nullptr, nullptr, &later});  // 4 lost on the way
  std::vector<std::string> offsets;
  append(nodes.b, Appending{{}, &offsets});
  EXPECT_FALSE(nodes.b.missed_since(*RecoveryOffset::parse("x~1." + nodes.a.origin() + "~3"), false).complete);
  EXPECT_TRUE(nodes.b.missed_since(*RecoveryOffset::parse(offsets[0]), false).complete);
}

TEST(RecoveryOffset, ParsesStampsAndRefusesAnythingElse) {
  auto offset = RecoveryOffset::parse("abc-_DEF~12.xyz+~3");
  ASSERT_TRUE(offset);
  EXPECT_EQ(offset->seq_of("abc-_DEF"), 12u);
  EXPECT_EQ(offset->seq_of("xyz+"), 3u);
  EXPECT_EQ(offset->seq_of("nope"), std::nullopt);
  for (const char* bad :
       {"", "12", "a~", "~1", "a~1.", "a~1..b~2", "a~x", "a~1.a~2", "a b~1", "a~-1", "a~1~2", "a~99999999999999999999"})
    EXPECT_FALSE(RecoveryOffset::parse(bad)) << bad;
  std::string many;
  for (int i = 0; i < 300; ++i) append_offset_stamp(many, "o" + std::to_string(i), 1);
  EXPECT_FALSE(RecoveryOffset::parse(many)) << "bounded";
}

TEST(Recovery, UnknownPidRestoresNothing) {
  Recovery recovery(config());
  EXPECT_FALSE(recovery.restore(recovery.pid_of("never-persisted"), std::nullopt));
}

// What a watch hears (push::InFlightPushes keeps pushes for sessions caught between a read of
// the store and a loop's send, by these calls and the takes' numbering).
struct Heard : RecoveryWatch {
  std::vector<std::string> dropped;
  std::vector<std::tuple<std::string, uint64_t, bool>> taken;
  void session_dropped(const RecoveredSession& session) override { dropped.push_back(session.sid); }
  void session_taken(const RecoveredSession& session, uint64_t take, bool here) override {
    taken.emplace_back(session.sid, take, here);
  }
  void acked_broadcast_sending(size_t, std::string_view) override {}
};

TEST(Recovery, AWatchHearsEveryDropAndEveryTakeInTheOrderReadsCountThem) {
  Recovery recovery(config(60s, 300));
  Heard heard;
  recovery.set_watch(&heard);
  for (const char* sid : {"back", "elsewhere", "too_late", "stays"})
    recovery.persist(recovery.pid_of(sid), session(sid, 0));
  EXPECT_EQ(heard.dropped, (std::vector<std::string>{"back", "elsewhere", "too_late", "stays"}));
  size_t visited = 0;
  EXPECT_EQ(recovery.for_each_session([&](const RecoveredSession&) { ++visited; }), 0U);
  EXPECT_EQ(visited, 4U);

  EXPECT_TRUE(recovery.restore(recovery.pid_of("back"), std::nullopt));
  EXPECT_TRUE(recovery.forget(recovery.pid_of("elsewhere")));
  EXPECT_FALSE(recovery.forget(recovery.pid_of("elsewhere")));  // once
  std::vector<std::string> offsets;
  for (int i = 0; i < 5; ++i) append(recovery, {}, &offsets);  // what it missed leaves the log
  EXPECT_FALSE(recovery.restore(recovery.pid_of("too_late"), offsets[0]));
  using Take = std::tuple<std::string, uint64_t, bool>;
  EXPECT_EQ(heard.taken, (std::vector<Take>{{"back", 1, true}, {"elsewhere", 2, false}, {"too_late", 3, false}}));
  EXPECT_EQ(recovery.for_each_session([](const RecoveredSession&) {}), 3U);
}

}  // namespace recovery_test
}  // namespace herald::socketio
