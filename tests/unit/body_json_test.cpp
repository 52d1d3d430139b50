// API bodies read by api/body_json.cpp: simdjson's pass takes exactly the bodies nlohmann's
// parser takes and gives the same fields, kept messages come out as written, and bad bodies get
// the API's words.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/body_json.hpp"
#include "codec/raw_json.hpp"

namespace herald::api {
namespace body_json_test {

using namespace std::string_literals;

// What nlohmann's parser makes of `body` (the reference: how bodies were read before).
Json reference(const std::string& body) { return Json::parse(body, nullptr, false); }

std::string error_of(const std::string& body, KeptMessages kept = KeptMessages::None) {
  try {
    read_body_json(body, kept);
  } catch (const BadRequest& error) {
    return error.what();
  }
  return "";
}

TEST(BodyJson, TakesTheBodiesNlohmannTakesAndNoOthers) {
  const std::vector<std::string> bodies = {
      R"({"a":1})",
      R"({"a":"\ud83d\ude00"})",                  // a surrogate pair
      R"({"a":"\ud800"})",                        // a lone surrogate
      R"({"a":"\udc00\ud800"})",                  // a reversed pair
      "{\"a\":\"\xc3\xa9\"}",                     // UTF-8
      "{\"a\":\"\xc3\"}",                         // a truncated sequence
      "{\"a\":\"\xc0\xaf\"}",                     // an overlong encoding
      "{\"a\":\"\xed\xa0\x80\"}",                 // an encoded surrogate
      "{\"a\":\"\x01\"}",                         // a control character
      "\xef\xbb\xbf{\"a\":1}",                    // a byte order mark
      "{\"a\":1}\0junk"s,                         // a NUL after the value
      R"({"a":123456789012345678901234567890})",  // beyond 64 bits
      R"({"a":1e400})",                           // beyond double
      R"({"a":-0,"b":1.5e-3,"c":18446744073709551615,"d":-9223372036854775808})",
      R"({"a":[1,]})",
      R"({"a":01})",
      R"({"a":1.})",
      R"({"a":tru})",
      R"({"a":1} {"b":2})",
      R"({"a":1,"a":2})",  // the last of duplicates
      R"(  {"a" : [ true , false , null ] }  )",
      "[1]",
  };
  for (const auto& body : bodies) {
    Json expected = reference(body);
    std::string error = error_of(body);
    if (expected.is_discarded()) {
      EXPECT_EQ(error, "body is not valid JSON") << body;
    } else if (!expected.is_object()) {
      EXPECT_EQ(error, "body must be a JSON object") << body;
    } else {
      ASSERT_EQ(error, "") << body;
      EXPECT_EQ(read_body_json(body, KeptMessages::None).fields, expected) << body;
    }
  }
}

TEST(BodyJson, KeepsTheMessageAsWrittenAndReadsTheRest) {
  std::string message = R"({"zeta":1.50,"s":"caf\u00e9","big":123456789012345678901234567890})";
  for (const auto& number : {"1"s, "123456789012345678901234567890"s}) {
    std::string body = R"({"users":["u"],"timeout":)" + number + R"(,"message": )" + message + R"( ,"msgId":"m"})";
    BodyJson read = read_body_json(body, KeptMessages::Top);
    ASSERT_TRUE(read.message) << body;
    EXPECT_EQ(codec::raw_json_text(*read.message), message);
    EXPECT_FALSE(read.fields.contains("message")) << "a kept message is not read into values";
    EXPECT_EQ(read.fields["users"], Json::array({"u"}));
    EXPECT_EQ(read.fields["msgId"], "m");
  }
}

TEST(BodyJson, KeepsEachEntrysMessageAsWritten) {
  std::string body = R"({"pushes":[{"users":["a"],"message":{"x":1.0}},{"all":true},{"message":"t"}]})";
  BodyJson read = read_body_json(body, KeptMessages::Entries);
  ASSERT_EQ(read.entry_messages.size(), 3u);
  EXPECT_EQ(codec::raw_json_text(*read.entry_messages[0]), R"({"x":1.0})");
  EXPECT_FALSE(read.entry_messages[1]);
  EXPECT_EQ(codec::raw_json_text(*read.entry_messages[2]), R"("t")");
  EXPECT_EQ(read.fields["pushes"][0], Json::parse(R"({"users":["a"]})"));
  EXPECT_EQ(read.fields["pushes"][1], Json::parse(R"({"all":true})"));
}

TEST(BodyJson, WithoutKeptMessagesTheMessageIsAValue) {
  BodyJson read = read_body_json(R"({"message":{"x":1}})", KeptMessages::None);
  EXPECT_FALSE(read.message);
  EXPECT_EQ(read.fields["message"], Json::parse(R"({"x":1})"));
}

TEST(BodyJson, RefusesBodiesNestedTooDeep) {
  std::string deep = R"({"a":)" + std::string(64, '[') + std::string(64, ']') + "}";
  EXPECT_EQ(error_of(deep), kTooDeep);
  std::string within = R"({"a":)" + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_EQ(error_of(within), "");
}

}  // namespace body_json_test
}  // namespace herald::api
