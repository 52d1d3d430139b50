// Herald's JSON keeps object keys in the order they came, small objects and large (indexed) alike,
// through parsing, changes, copies and serialization.
#include <gtest/gtest.h>

#include <string>

#include "codec/json.hpp"

namespace herald {
namespace json_order_test {

TEST(JsonOrder, KeysKeepTheOrderTheyCameIn) {
  const std::string text = R"({"zeta":1,"alpha":{"y":true,"b":null},"mid":[{"z":0,"a":1}]})";
  EXPECT_EQ(Json::parse(text).dump(), text);
}

TEST(JsonOrder, AddedKeysGoLastAndReplacedOnesKeepTheirPlace) {
  Json object = Json::parse(R"({"b":1,"a":2})");
  object["c"] = 3;
  object["b"] = 4;
  EXPECT_EQ(object.dump(), R"({"b":4,"a":2,"c":3})");
  object.erase("b");
  EXPECT_EQ(object.dump(), R"({"a":2,"c":3})");
}

// Objects from kIndexFrom keys on are looked up through a hash index: it must follow every change.
TEST(JsonOrder, LargeObjectsStayConsistentThroughChanges) {
  Json object = Json::object();
  const int keys = 200;
  for (int i = keys - 1; i >= 0; --i) object["k" + std::to_string(i)] = i;
  ASSERT_EQ(object.size(), static_cast<size_t>(keys));
  EXPECT_EQ(object.begin().key(), "k199") << "insertion order, not sorted";
  for (int i = 0; i < keys; ++i) ASSERT_EQ(object.at("k" + std::to_string(i)), i);
  object["k5"] = -5;  // replaced in place
  EXPECT_EQ(object.size(), static_cast<size_t>(keys));
  for (int i = 0; i < keys; i += 2) object.erase("k" + std::to_string(i));
  EXPECT_EQ(object.size(), static_cast<size_t>(keys / 2));
  for (int i = 0; i < keys; ++i) {
    bool present = i % 2 == 1;
    ASSERT_EQ(object.contains("k" + std::to_string(i)), present) << i;
    if (present) {
      ASSERT_EQ(object["k" + std::to_string(i)], i == 5 ? -5 : i);
    }
  }
  Json copy = object;
  copy["new"] = true;
  EXPECT_TRUE(copy.contains("k7"));
  EXPECT_FALSE(object.contains("new"));
  EXPECT_EQ(copy.items().begin().key(), object.items().begin().key());
  object.clear();
  EXPECT_FALSE(object.contains("k7"));
  object["k7"] = 1;
  EXPECT_EQ(object.size(), 1u);
}

TEST(JsonOrder, DuplicateKeysInTextKeepTheLastValueAtTheFirstPlace) {
  // As JSON.parse does: the value is the last one's.
  std::string text = "{";
  for (int i = 0; i < 40; ++i) text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  text += R"("k3":"again"})";
  Json object = Json::parse(text);
  EXPECT_EQ(object.size(), 40u);
  EXPECT_EQ(object["k3"], "again");
  EXPECT_EQ(std::next(object.begin(), 3).key(), "k3");
}

TEST(JsonOrder, MsgpackKeepsTheOrderToo) {
  Json object = Json::parse(R"({"zeta":1,"alpha":2})");
  EXPECT_EQ(Json::from_msgpack(Json::to_msgpack(object)).dump(), object.dump());
}

}  // namespace json_order_test
}  // namespace herald
