// codec::json_depth_within / msgpack_depth_within: the nesting limit checked before parsing.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "codec/json_depth.hpp"

namespace herald::codec {
namespace json_depth_test {

using Json = nlohmann::json;

std::string nested_arrays(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

Json nested_json(size_t depth) {
  Json value = 1;
  for (size_t i = 0; i < depth; ++i) value = i % 2 ? Json::array({value}) : Json{{"k", value}};
  return value;
}

std::string msgpack(const Json& value) {
  std::string out;
  Json::to_msgpack(value, out);
  return out;
}

TEST(JsonDepth, CountsArraysAndObjectsUpToTheLimit) {
  EXPECT_TRUE(json_depth_within(nested_arrays(64)));
  EXPECT_FALSE(json_depth_within(nested_arrays(65)));
  EXPECT_TRUE(json_depth_within(nested_json(64).dump()));
  EXPECT_FALSE(json_depth_within(nested_json(65).dump()));
  EXPECT_TRUE(json_depth_within("[[1],[2],[3]]", 2));
  EXPECT_FALSE(json_depth_within("[[[1]]]", 2));
}

TEST(JsonDepth, BracketsInStringsAndEscapedQuotesDoNotCount) {
  std::string text = R"(["[[[[", "\"[[[[", {"k": "]]]]{{{{"}])";
  EXPECT_TRUE(json_depth_within(text, 2));
}

TEST(JsonDepth, SeventyThousandLevelsAreRefusedWithoutRecursion) {
  EXPECT_FALSE(json_depth_within(nested_arrays(70'000)));
  EXPECT_FALSE(msgpack_depth_within(std::string(70'000, '\x91') + '\x01'));
}

TEST(MsgpackDepth, MatchesTheJsonDepthOfTheSameValue) {
  for (size_t depth : {0, 1, 2, 63, 64, 65, 100}) {
    Json value = nested_json(depth);
    EXPECT_EQ(msgpack_depth_within(msgpack(value)), depth <= kMaxJsonDepth) << depth;
  }
}

TEST(MsgpackDepth, SkipsStringsBinariesAndNumbersOfEveryWidth) {
  Json value = Json::array({"x", std::string(300, 'y'), std::string(70'000, 'z'), Json::binary({1, 2, 3}),
                            Json::binary(std::vector<uint8_t>(70'000, 0x91)), 1, -1, 200, 70'000, 5'000'000'000, -200,
                            -70'000, -5'000'000'000, 1.5, true, nullptr, Json::object(), Json::array()});
  EXPECT_TRUE(msgpack_depth_within(msgpack(value), 2));
  EXPECT_FALSE(msgpack_depth_within(msgpack(Json::array({value})), 2));
}

TEST(MsgpackDepth, EmptyContainersCountAsALevel) {
  EXPECT_TRUE(msgpack_depth_within(msgpack(Json::array({Json::array()})), 2));
  EXPECT_FALSE(msgpack_depth_within(msgpack(Json::array({Json::array({Json::object()})})), 2));
}

TEST(MsgpackDepth, TruncatedInputIsLeftToTheParser) {
  std::string bytes = msgpack(nested_json(10));
  for (size_t cut = 0; cut < bytes.size(); ++cut) EXPECT_TRUE(msgpack_depth_within(bytes.substr(0, cut)));
}

}  // namespace json_depth_test
}  // namespace herald::codec
