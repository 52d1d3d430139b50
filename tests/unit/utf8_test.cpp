// UTF-8 validation (RFC 3629; Unicode table 3-7), required for WebSocket text frames (RFC 6455 8.1).
#include "codec/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace herald::codec {
namespace utf8_test {

using namespace std::string_literals;

TEST(Utf8, EmptyStringIsValid) { EXPECT_TRUE(is_valid_utf8("")); }

TEST(Utf8, AsciiIsValid) {
  std::string ascii;
  for (int i = 0; i < 128; ++i) ascii += static_cast<char>(i);
  EXPECT_TRUE(is_valid_utf8(ascii));
  EXPECT_TRUE(is_valid_utf8("42[\"hello\",1]"));
  EXPECT_TRUE(is_valid_utf8("\0\0\0"s));
}

TEST(Utf8, ValidMultiByteSequences) {
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9"));          // U+00E9 e acute
  EXPECT_TRUE(is_valid_utf8("\xe2\x82\xac"));      // U+20AC euro sign
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));  // U+1F600 emoji
  EXPECT_TRUE(is_valid_utf8("h\xc3\xa9llo w\xc3\xb6rld \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8c\x8d!"));
}

TEST(Utf8, BoundaryCodePointsAreValid) {
  EXPECT_TRUE(is_valid_utf8("\x7f"));              // U+007F, last one-byte
  EXPECT_TRUE(is_valid_utf8("\xc2\x80"));          // U+0080, first two-byte
  EXPECT_TRUE(is_valid_utf8("\xdf\xbf"));          // U+07FF, last two-byte
  EXPECT_TRUE(is_valid_utf8("\xe0\xa0\x80"));      // U+0800, first three-byte
  EXPECT_TRUE(is_valid_utf8("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(is_valid_utf8("\xee\x80\x80"));      // U+E000, just above the surrogates
  EXPECT_TRUE(is_valid_utf8("\xef\xbf\xbd"));      // U+FFFD
  EXPECT_TRUE(is_valid_utf8("\xef\xbf\xbf"));      // U+FFFF, a noncharacter but valid UTF-8
  EXPECT_TRUE(is_valid_utf8("\xf0\x90\x80\x80"));  // U+10000, first four-byte
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the last code point
}

TEST(Utf8, OverlongEncodingsRefused) {
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // '/' in two bytes
  EXPECT_FALSE(is_valid_utf8("\xc0\x80"));          // NUL in two bytes
  EXPECT_FALSE(is_valid_utf8("\xc1\xbf"));          // U+007F in two bytes
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // '/' in three bytes
  EXPECT_FALSE(is_valid_utf8("\xe0\x9f\xbf"));      // U+07FF in three bytes
  EXPECT_FALSE(is_valid_utf8("\xf0\x80\x80\xaf"));  // '/' in four bytes
  EXPECT_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));  // U+FFFF in four bytes
}

TEST(Utf8, SurrogatesRefused) {
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));              // U+D800
  EXPECT_FALSE(is_valid_utf8("\xed\xad\xbf"));              // U+DB7F
  EXPECT_FALSE(is_valid_utf8("\xed\xb0\x80"));              // U+DC00
  EXPECT_FALSE(is_valid_utf8("\xed\xbf\xbf"));              // U+DFFF
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\xbd\xed\xb8\x80"));  // CESU-8 pair for U+1F600
}

TEST(Utf8, CodePointsAboveMaxRefused) {
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("\xf7\xbf\xbf\xbf"));          // U+1FFFFF
  EXPECT_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));      // old five-byte form
  EXPECT_FALSE(is_valid_utf8("\xfc\x84\x80\x80\x80\x80"));  // old six-byte form
}

TEST(Utf8, InvalidLeadBytesRefused) {
  for (int b : {0x80, 0xbf, 0xc0, 0xc1, 0xf5, 0xf8, 0xfe, 0xff}) {
    std::string text = "ab";
    text += static_cast<char>(b);
    text += "cd";
    EXPECT_FALSE(is_valid_utf8(text)) << std::hex << b;
  }
}

TEST(Utf8, LoneContinuationByteRefused) {
  EXPECT_FALSE(is_valid_utf8("\x80"));
  EXPECT_FALSE(is_valid_utf8("a\xbf"));
  EXPECT_FALSE(is_valid_utf8("\xc3\xa9\xa9"));  // one continuation byte too many
}

TEST(Utf8, TruncatedSequencesRefused) {
  EXPECT_FALSE(is_valid_utf8("\xc3"));
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));
  EXPECT_FALSE(is_valid_utf8("\xe2"));
  EXPECT_FALSE(is_valid_utf8("\xf0\x9f\x98"));
  EXPECT_FALSE(is_valid_utf8("\xf0\x9f"));
  EXPECT_FALSE(is_valid_utf8("hello\xf0"));
}

TEST(Utf8, SequenceInterruptedByAsciiRefused) {
  EXPECT_FALSE(
      is_valid_utf8("\xc3"
                    "a"));
  EXPECT_FALSE(
      is_valid_utf8("\xe2\x82"
                    "a"));
  EXPECT_FALSE(
      is_valid_utf8("\xf0\x9f\x98"
                    "a"));
  EXPECT_FALSE(
      is_valid_utf8("\xe2"
                    "a\xac"));
}

TEST(Utf8, InvalidByteAfterLongAsciiRunRefused) {
  // The validator skips ASCII eight bytes at a time: check every alignment of the bad byte.
  for (size_t prefix = 0; prefix < 24; ++prefix) {
    for (size_t suffix = 0; suffix < 10; ++suffix) {
      std::string text = std::string(prefix, 'a') + "\xff" + std::string(suffix, 'b');
      EXPECT_FALSE(is_valid_utf8(text)) << prefix << "+" << suffix;
      std::string good = std::string(prefix, 'a') + "\xe2\x82\xac" + std::string(suffix, 'b');
      EXPECT_TRUE(is_valid_utf8(good)) << prefix << "+" << suffix;
      std::string truncated = std::string(prefix, 'a') + "\xe2\x82";
      EXPECT_FALSE(is_valid_utf8(truncated)) << prefix;
    }
  }
}

TEST(Utf8, ChecksOnlyTheGivenView) {
  std::string text = "abc\xff";
  EXPECT_TRUE(is_valid_utf8(std::string_view(text).substr(0, 3)));
  EXPECT_FALSE(is_valid_utf8(text));
}

}  // namespace utf8_test
}  // namespace herald::codec
