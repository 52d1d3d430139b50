// Standard base64 (RFC 4648 section 4, padded), as used for binary packets in Engine.IO polling payloads.
#include "codec/base64.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace herald::codec {
namespace base64_test {

using namespace std::string_literals;

// RFC 4648 section 10.
const std::vector<std::pair<std::string, std::string>> kRfc4648Vectors = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

TEST(Base64, EncodesRfc4648TestVectors) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) EXPECT_EQ(base64_encode(plain), encoded) << plain;
}

TEST(Base64, DecodesRfc4648TestVectors) {
  for (const auto& [plain, encoded] : kRfc4648Vectors) {
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(*decoded, plain) << encoded;
  }
}

TEST(Base64, UsesStandardAlphabetWithPlusAndSlash) {
  EXPECT_EQ(base64_encode("\xfb\xff\xbf"), "+/+/");
  EXPECT_EQ(base64_encode("\x00\x10\x83\x10\x51\x87\x20\x92\x8b\x30\xd3\x8f\x41\x14\x93\x51\x55\x97"
                          "\x61\x96\x9b\x71\xd7\x9f\x82\x18\xa3\x92\x59\xa7\xa2\x9a\xab\xb2\xdb\xaf"
                          "\xc3\x1c\xb3\xd3\x5d\xb7\xe3\x9e\xbb\xf3\xdf\xbf"s),
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
  auto decoded = base64_decode("+/+/");
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, "\xfb\xff\xbf");
}

TEST(Base64, AppendKeepsExistingContent) {
  std::string out = "b";
  base64_append(out, "\x01\x02\x03\x04");
  EXPECT_EQ(out, "bAQIDBA==");
}

TEST(Base64, AllByteValuesRoundTrip) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (size_t len = 0; len <= bytes.size(); ++len) {
    std::string plain = bytes.substr(bytes.size() - len);
    std::string encoded = base64_encode(plain);
    EXPECT_EQ(encoded.size(), (len + 2) / 3 * 4);
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded) << len;
    EXPECT_EQ(*decoded, plain) << len;
  }
}

TEST(Base64, CharacterOutsideAlphabetRefused) {
  for (const std::string& text :
       {"Zm9v!A=="s, "Zm-v"s, "Zm_v"s, "Zm9v\nYmF"s, "Zm9 "s, "Zm9\0"s, "Zm9\xff"s, "Zm9vYmF\x80"s}) {
    EXPECT_FALSE(base64_decode(text)) << text;
  }
}

TEST(Base64, LengthNotMultipleOfFourRefused) {
  // Unpadded base64 is not what Engine.IO clients send.
  for (std::string text : {"Z", "Zg", "Zg=", "Zm8", "Zm9vY", "Zm9vYg="}) EXPECT_FALSE(base64_decode(text)) << text;
}

TEST(Base64, BadPaddingRefused) {
  for (std::string text : {"====", "Z===", "=g==", "Zg=A", "Z=g=", "Zm=v", "Zg==Zg==", "Zm8=Zm9v", "Zm9v===="}) {
    EXPECT_FALSE(base64_decode(text)) << text;
  }
}

TEST(Base64, NonZeroPadBitsRefused) {
  // RFC 4648 section 3.5: the bits left over before the padding must be zero, so that every byte
  // string has exactly one encoding. "Zh==" and "Zm9=" carry stray bits that "Zg==" and "Zm8=" do not.
  EXPECT_FALSE(base64_decode("Zh=="));
  EXPECT_FALSE(base64_decode("Z/=="));
  EXPECT_FALSE(base64_decode("Zm9="));
  EXPECT_FALSE(base64_decode("Zm9vZm9="));
  EXPECT_TRUE(base64_decode("Zg=="));
  EXPECT_TRUE(base64_decode("Zm8="));
}

}  // namespace base64_test
}  // namespace herald::codec
