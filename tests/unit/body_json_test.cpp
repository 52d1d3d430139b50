// API bodies read by api/body_json.cpp: the one-walk reader (simdjson On Demand) takes exactly the
// bodies nlohmann's parser takes and gives the same fields, kept messages come out as written (the
// last of duplicates, as the parsers keep), and bad bodies get the API's words, whichever reader
// (simdjson or the nlohmann fallback) answers.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "api/body_json.hpp"
#include "codec/json_depth.hpp"
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

// The last member named `name` of the object `text`, as written (a scan, independent of the reader).
std::optional<std::string> member_text(std::string_view text, std::string_view name) {
  std::optional<std::string> found;
  for (const auto& [key, value] : codec::object_members(text))
    if (key == name) found = std::string(value);
  return found;
}

std::optional<std::string> text_of(const std::optional<Json>& raw) {
  if (!raw) return std::nullopt;
  return std::string(codec::raw_json_text(*raw));
}

// Reads `body` both ways: by read_body_json, and as before (nlohmann, then a scan of the members
// for the kept messages' text), and expects the same error or the same fields and messages.
void expect_read_as_before(const std::string& body, KeptMessages kept) {
  SCOPED_TRACE(body);
  Json expected = reference(body);
  std::string error = error_of(body, kept);
  std::string expected_error;
  if (!codec::json_depth_within(body))
    expected_error = kTooDeep;
  else if (expected.is_discarded())
    expected_error = "body is not valid JSON";
  else if (!expected.is_object())
    expected_error = "body must be a JSON object";
  ASSERT_EQ(error, expected_error);
  if (!error.empty()) return;
  BodyJson read = read_body_json(body, kept);
  if (kept == KeptMessages::Top) {
    EXPECT_EQ(text_of(read.message), member_text(body, "message"));
    expected.erase("message");
  } else if (kept == KeptMessages::Entries) {
    std::string pushes = member_text(body, "pushes").value_or("");
    auto elements = codec::array_elements(pushes);
    ASSERT_EQ(read.entry_messages.size(), elements.size());
    for (size_t i = 0; i < elements.size(); ++i) {
      EXPECT_EQ(text_of(read.entry_messages[i]), member_text(elements[i], "message")) << i;
      if (expected["pushes"][i].is_object()) expected["pushes"][i].erase("message");
    }
  } else {
    EXPECT_FALSE(read.message);
    EXPECT_TRUE(read.entry_messages.empty());
  }
  EXPECT_EQ(read.fields, expected);
  EXPECT_EQ(read.fields.dump(), expected.dump()) << "numbers typed alike (1 and 1.0 compare equal)";
}

const std::vector<std::string>& bodies() {
  static const std::vector<std::string> all = {
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
      R"({"a":-0,"b":1.5e-3,"c":18446744073709551615,"d":-9223372036854775808,"e":9223372036854775808})",
      R"({"a":-9223372036854775809,"b":18446744073709551616})",  // just beyond 64 bits
      R"({"a":0.1234567890123456789012,"b":184467440737095531.5e-3,"c":1e-400,"d":-0.0,"e":1E+2})",
      R"({"a":3.141592653589793238462643383279,"b":1.7976931348623157e308,"c":4.9e-324})",
      R"({"a":[1,]})",
      R"({"a":01})",
      R"({"a":1.})",
      R"({"a":.5})",
      R"({"a":-})",
      R"({"a":1e})",
      R"({"a":1x})",
      R"({"a":tru})",
      R"({"a":nul})",
      R"({"a":nulll})",
      R"({"a":truex})",
      R"({"a":1} {"b":2})",
      R"({"a":1}})",
      R"({"a":1}])",
      R"({"a":1)",
      R"({"a":[1})",
      R"({"a" 1})",
      R"({"a":1,})",
      R"({,"a":1})",
      R"({"a":1 "b":2})",
      R"({a:1})",
      R"({"a":1,"a":2})",  // the last of duplicates
      R"({"a":[1],"b":2,"a":{"c":3}})",
      R"({"a\u0062":1,"ab":2})",  // keys compared decoded
      R"(  {"a" : [ true , false , null ] }  )",
      R"({"a":{},"b":[],"c":[{}],"d":[[]],"e":""})",
      "{}",
      "[1]",
      R"("text")",
      "42",
  };
  return all;
}

TEST(BodyJson, TakesTheBodiesNlohmannTakesAndNoOthers) {
  for (const auto& body : bodies()) expect_read_as_before(body, KeptMessages::None);
}

// Bodies with messages in every place and form, read with each kind of kept message.
const std::vector<std::string>& bodies_with_messages() {
  static const std::vector<std::string> all = {
      R"({"message":{"a":1},"msgId":"m"})",
      R"({"msgId":"m","message" : [ 1 , "x" ] })",
      R"({"message":1.50})",
      R"({"message":1.50 ,"x":1})",
      R"({"message":"caf\u00e9 \"q\""})",
      R"({"message":null,"message":true})",  // the last of duplicates
      R"({"message":{"n":1},"x":2,"message":-0.0})",
      R"({"m\u0065ssage":{"escaped":"key"}})",
      R"({"message":{"big":123456789012345678901234567890}})",  // read by nlohmann
      R"({"message":{"long":0.1234567890123456789012}})",
      R"({"message":1e400})",
      R"({"message":{"a":tru}})",
      "{\"message\":{\"a\":1}}\xef\xbb\xbf",
      "\xef\xbb\xbf{\"message\":[1],\"a\":2}",  // nlohmann skips the mark; the scan finds no members
      R"({"pushes":[{"users":["a"],"message":{"x":1.0}},{"all":true},{"message":"t"}]})",
      R"({"pushes":[{"message":1},[{"message":2}],3,null,{"message":4,"message":5}]})",
      R"({"pushes":[{"message":1},{"message":2}],"pushes":[{"x":1}]})",  // the last `pushes`
      R"({"pushes":[{"message":1}],"pushes":{"message":2}})",
      R"({"pushes":"none","message":{"top":1}})",
      R"({"pushes":[{"message":{"message":1}}],"other":[{"message":2}],"o":{"p":{"message":3}}})",
      R"({"pushes":[{"message":123456789012345678901234567890}]})",
      R"({"pushes":[{"message":[1,]}]})",
      R"({"pushes":[]})",
  };
  return all;
}

TEST(BodyJson, KeepsMessagesAsBodiesWereReadBefore) {
  for (auto kept : {KeptMessages::None, KeptMessages::Top, KeptMessages::Entries}) {
    for (const auto& body : bodies()) expect_read_as_before(body, kept);
    for (const auto& body : bodies_with_messages()) expect_read_as_before(body, kept);
  }
}

// Every body one edit away from a few real ones (a character dropped, doubled or replaced by one
// that matters to JSON) reads as it did before: a small fuzz, the same on every run.
TEST(BodyJson, BodiesOneEditAwayReadAsBefore) {
  const std::vector<std::string> seeds = {
      R"({"msgId":"m-1","message":{"t":1733389200123456,"seq":42,"pad":"x\"y"},"ack":true,"timeout":1e4,"useraccount":"u1"})",
      R"({"pushes":[{"users":["a","b"],"message":[1.5,-0,null]},{"all":false,"message":"t"}],"x":[]})",
  };
  const std::string replacements = "{}[]:,\"\\ 0-1.eEtfn";
  size_t bodies = 0;
  for (const auto& seed : seeds) {
    for (size_t at = 0; at < seed.size(); ++at) {
      std::vector<std::string> edits = {seed.substr(0, at) + seed.substr(at + 1),
                                        seed.substr(0, at + 1) + seed.substr(at)};
      for (char c : replacements) edits.push_back(seed.substr(0, at) + c + seed.substr(at + 1));
      for (const auto& body : edits) {
        for (auto kept : {KeptMessages::Top, KeptMessages::Entries}) expect_read_as_before(body, kept);
        ++bodies;
      }
    }
  }
  EXPECT_GT(bodies, 2000u);
}

TEST(BodyJson, KeepsTheMessageAsWrittenAndReadsTheRest) {
  std::string message = R"({"zeta":1.50,"s":"caf\u00e9","big":123456789012345678901234567890})";
  for (const auto& number : {"1"s, "123456789012345678901234567890"s}) {
    std::string body = R"({"users":["u"],"timeout":)";
    body += number;
    body += R"(,"message": )";
    body += message;
    body += R"( ,"msgId":"m"})";
    BodyJson read = read_body_json(body, KeptMessages::Top);
    ASSERT_TRUE(read.message) << body;
    EXPECT_EQ(codec::raw_json_text(*read.message), message);
    EXPECT_FALSE(read.fields.contains("message")) << "a kept message is not read into values";
    EXPECT_EQ(read.fields["users"], Json::array({"u"}));
    EXPECT_EQ(read.fields["msgId"], "m");
  }
}

TEST(BodyJson, KeepsTheLastOfDuplicateMessages) {
  BodyJson read = read_body_json(R"({"message":{"first":1},"msgId":"m","message":  "second"  })", KeptMessages::Top);
  ASSERT_TRUE(read.message);
  EXPECT_EQ(codec::raw_json_text(*read.message), R"("second")");
  EXPECT_EQ(read.fields, Json::parse(R"({"msgId":"m"})"));
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

TEST(BodyJson, KeepsTheEntriesOfTheLastPushes) {
  BodyJson read =
      read_body_json(R"({"pushes":[{"message":1},{"message":2}],"pushes":[{"all":true}]})", KeptMessages::Entries);
  ASSERT_EQ(read.entry_messages.size(), 1u);
  EXPECT_FALSE(read.entry_messages[0]);
  EXPECT_EQ(read.fields, Json::parse(R"({"pushes":[{"all":true}]})"));
}

TEST(BodyJson, WithoutKeptMessagesTheMessageIsAValue) {
  BodyJson read = read_body_json(R"({"message":{"x":1}})", KeptMessages::None);
  EXPECT_FALSE(read.message);
  EXPECT_EQ(read.fields["message"], Json::parse(R"({"x":1})"));
}

TEST(BodyJson, ReadsWhatSimdjsonRefusesThroughNlohmann) {
  // Integers beyond 64 bits: nlohmann reads them as doubles; the message keeps its text.
  std::string body = R"({"message":{"id":123456789012345678901234567890},"n":123456789012345678901234567890})";
  BodyJson read = read_body_json(body, KeptMessages::Top);
  ASSERT_TRUE(read.message);
  EXPECT_EQ(codec::raw_json_text(*read.message), R"({"id":123456789012345678901234567890})");
  EXPECT_TRUE(read.fields["n"].is_number_float());
}

TEST(BodyJson, RefusesBadBodiesInTheApisWords) {
  EXPECT_EQ(error_of(R"({"a":1,})"), "body is not valid JSON");
  EXPECT_EQ(error_of(R"({"message":{"a":tru}})", KeptMessages::Top), "body is not valid JSON");
  EXPECT_EQ(error_of(R"({"message":1e400})", KeptMessages::Top), "body is not valid JSON");
  EXPECT_EQ(error_of(R"({"a":1} x)"), "body is not valid JSON");
  EXPECT_EQ(error_of("[1]"), "body must be a JSON object");
  EXPECT_EQ(error_of(R"("text")", KeptMessages::Top), "body must be a JSON object");
}

TEST(BodyJson, RefusesBodiesNestedTooDeep) {
  std::string deep = R"({"a":)" + std::string(64, '[') + std::string(64, ']') + "}";
  EXPECT_EQ(error_of(deep), kTooDeep);
  std::string within = R"({"a":)" + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_EQ(error_of(within), "");
  // In a kept message too, and before the text is judged.
  EXPECT_EQ(error_of(R"({"message":)" + std::string(64, '[') + std::string(64, ']') + "}", KeptMessages::Top),
            kTooDeep);
  EXPECT_EQ(error_of(R"({"message":)" + std::string(64, '[') + "}", KeptMessages::Top), kTooDeep);
  BodyJson read =
      read_body_json(R"({"message":)" + std::string(63, '[') + std::string(63, ']') + "}", KeptMessages::Top);
  ASSERT_TRUE(read.message);
  EXPECT_EQ(codec::raw_json_text(*read.message), std::string(63, '[') + std::string(63, ']'));
}

}  // namespace body_json_test
}  // namespace herald::api
