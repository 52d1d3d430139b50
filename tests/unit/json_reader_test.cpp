// codec::read_json (simdjson) against nlohmann's parser, the reference: what read_json takes reads
// exactly as nlohmann reads it (same tree, same text written back), and what it refuses nlohmann
// decides. The Socket.IO decoder, which reads client payloads through it, answers as before.
#include "codec/json_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "socketio/packet.hpp"

namespace herald::codec {
namespace json_reader_test {

using namespace std::string_literals;

const std::vector<std::string>& texts() {
  static const std::vector<std::string> all = {
      R"(["msg-1"])",
      R"([])",
      R"({"a":1,"b":[true,false,null],"c":{"d":"e"}})",
      R"({"z":1,"a":2,"m":3})",  // the order written
      R"({"a":1,"b":2,"a":3})",  // the last of duplicates, at the first's place
      R"([-0,0,-0.0,1.5e-3,18446744073709551615,-9223372036854775808,9223372036854775807])",
      R"([123456789012345678901234567890])",  // beyond 64 bits: nlohmann's double
      R"([1e400])",                           // beyond double
      R"(["\ud83d\ude00","\u00e9","\n\t\"\\"])",
      R"(["\ud800"])",  // a lone surrogate
      "[\"\xc3\xa9\"]",
      "[\"\xc3\"]",  // a truncated sequence
      "[\"\x01\"]",  // a control character
      "\xef\xbb\xbf[1]",
      "[1]\0junk"s,
      R"([1,])",
      R"([01])",
      R"(  [ 1 , 2 ]  )",
      R"("text")",
      R"(42)",
      R"(null)",
      R"([1] [2])",
  };
  return all;
}

TEST(JsonReader, ReadsWhatItTakesAsNlohmannDoes) {
  size_t taken = 0;
  for (const auto& text : texts()) {
    Json reference = Json::parse(text, nullptr, false);
    auto read = read_json(text);
    if (!read) continue;
    ++taken;
    ASSERT_FALSE(reference.is_discarded()) << "taken by simdjson, refused by nlohmann: " << text;
    EXPECT_EQ(read->dump(), reference.dump()) << text;
    EXPECT_EQ(read->type(), reference.type()) << text;
  }
  EXPECT_GE(taken, 10u) << "most of these are plain JSON";
}

TEST(JsonReader, JudgesTextsAsNlohmannDoes) {
  for (const auto& text : texts()) EXPECT_EQ(json_text_valid(text), Json::accept(text)) << text;
  EXPECT_FALSE(json_text_valid(""));
  EXPECT_FALSE(json_text_valid("[1"));
  EXPECT_TRUE(json_text_valid(R"({"deep":[[[{"a":[1,2,{"b":null}]}]]]})"));
}

TEST(JsonReader, TheSocketIoDecoderReadsClientPayloadsAsBefore) {
  for (const auto& text : texts()) {
    if (text.empty() || (text[0] != '[' && text[0] != ' ')) continue;  // an event's payload is an array
    socketio::Decoder decoder;
    auto status = decoder.add_text("37" + text);  // an ack with id 7
    Json reference = Json::parse(text, nullptr, false);
    if (reference.is_discarded() || !reference.is_array()) {
      EXPECT_EQ(status, socketio::Decoder::Status::Error) << text;
      continue;
    }
    ASSERT_EQ(status, socketio::Decoder::Status::Complete) << text << ": " << decoder.error();
    EXPECT_EQ(decoder.take().data.dump(), reference.dump()) << text;
  }
}

}  // namespace json_reader_test
}  // namespace herald::codec
