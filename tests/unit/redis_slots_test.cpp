// Redis Cluster routing (redis/slot_map.hpp): key slots (the specification's CRC16 and hash tags),
// the key each command is routed by, MOVED / ASK parsing and the slot map from CLUSTER SLOTS.
#include <gtest/gtest.h>

#include "redis/slot_map.hpp"

namespace herald::redis {
namespace redis_slots_test {

Reply integer(int64_t value) { return Reply{Reply::Type::Integer, "", value, {}}; }
Reply text(std::string value) { return Reply{Reply::Type::String, std::move(value), 0, {}}; }
Reply array(std::vector<Reply> items) { return Reply{Reply::Type::Array, "", 0, std::move(items)}; }
Reply range(int64_t first, int64_t last, int64_t port) {
  return array({integer(first), integer(last), array({text("127.0.0.1"), integer(port), text("id")})});
}

TEST(RedisSlots, KeySlotsAsTheSpecificationComputesThem) {
  EXPECT_EQ(key_slot("123456789"), 12739);  // CRC16/XMODEM check value 0x31C3
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot(""), 0);
  // Only what is between the first { and the next } counts, when it is not empty.
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("herald:pending:{u1}"), key_slot("herald:pending:{u1}:body"));
  EXPECT_EQ(key_slot("herald:pending:{u1}"), key_slot("u1"));
  EXPECT_EQ(key_slot("foo{}{bar}"), key_slot("foo{}{bar}"));
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));  // an empty tag: the whole key
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
}

TEST(RedisSlots, RoutingKeys) {
  std::string error;
  EXPECT_EQ(routing_key({"GET", "k"}, error), "k");
  EXPECT_EQ(routing_key({"SPUBLISH", "socket.io#/#", "x"}, error), "socket.io#/#");
  EXPECT_EQ(routing_key({"EVAL", "return 1", "2", "a:{t}", "b:{t}", "arg"}, error), "a:{t}");
  EXPECT_FALSE(routing_key({"EVAL", "return 1", "0", "arg"}, error));
  EXPECT_FALSE(routing_key({"PUBLISH", "login", "x"}, error));
  EXPECT_FALSE(routing_key({"PUBSUB", "SHARDNUMSUB", "c"}, error));
  EXPECT_FALSE(routing_key({"PING"}, error));
  EXPECT_TRUE(error.empty());
  EXPECT_FALSE(routing_key({"EVAL", "return 1", "2", "a", "b"}, error));
  EXPECT_TRUE(error.starts_with("CROSSSLOT")) << error;
}

TEST(RedisSlots, Redirections) {
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->address, "127.0.0.1:6381");
  auto ask = parse_redirect("ASK 0 10.0.0.1:7000");
  ASSERT_TRUE(ask);
  EXPECT_TRUE(ask->ask);
  EXPECT_FALSE(parse_redirect("MOVED 16384 127.0.0.1:1"));
  EXPECT_FALSE(parse_redirect("MOVED x 127.0.0.1:1"));
  EXPECT_FALSE(parse_redirect("ERR MOVED 1 a:1"));
}

TEST(RedisSlots, SlotMapFromClusterSlots) {
  SlotMap map;
  std::string error;
  EXPECT_FALSE(map.known());
  EXPECT_FALSE(map.apply(array({range(0, 100, 7000)}), error)) << "uncovered slots are refused";
  EXPECT_FALSE(map.known());
  ASSERT_TRUE(map.apply(array({range(0, 5460, 7000), range(5461, 10922, 7001), range(10923, 16383, 7002)}), error))
      << error;
  EXPECT_EQ(map.masters().size(), 3U);
  EXPECT_EQ(map.owner(0), "127.0.0.1:7000");
  EXPECT_EQ(map.owner(5461), "127.0.0.1:7001");
  EXPECT_EQ(map.owner(16383), "127.0.0.1:7002");
  map.move(0, "127.0.0.1:7003");  // a MOVED redirection
  EXPECT_EQ(map.owner(0), "127.0.0.1:7003");
  EXPECT_EQ(map.owner(1), "127.0.0.1:7000");
  EXPECT_FALSE(map.apply(Reply::error("CLUSTERDOWN"), error));
  EXPECT_EQ(error, "CLUSTERDOWN");
}

}  // namespace redis_slots_test
}  // namespace herald::redis
