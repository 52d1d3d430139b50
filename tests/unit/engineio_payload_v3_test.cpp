// Engine.IO v3 long-polling payload codec (engine.io-parser 2.x): both forms, the UTF-16 lengths,
// base64 binary packets, and a clear error (never a crash) for every malformed body.
#include "engineio/payload_v3.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace herald::engineio {
namespace engineio_payload_v3_test {

using namespace std::string_literals;

constexpr size_t kUnlimited = std::numeric_limits<size_t>::max();

std::string encode_all(const std::vector<OutPacket>& packets, bool binary_allowed = false, bool* binary_form = nullptr,
                       size_t max_bytes = kUnlimited, size_t* taken = nullptr) {
  std::string out;
  bool form = false;
  size_t n = encode_payload_v3(packets, max_bytes, binary_allowed, out, form);
  if (binary_form) *binary_form = form;
  if (taken) *taken = n;
  return out;
}

OutPacket message(std::string_view text) { return make_text_packet(PacketType::Message, text); }

// --- UTF-16 lengths ---

TEST(EngineioV3Utf16, CountsAsJavaScriptDoes) {
  EXPECT_EQ(utf16_length(""), 0u);
  EXPECT_EQ(utf16_length("hello"), 5u);
  EXPECT_EQ(utf16_length("é"), 1u);  // 2 bytes, 1 unit
  EXPECT_EQ(utf16_length("€"), 1u);  // 3 bytes, 1 unit
  EXPECT_EQ(utf16_length("😀"), 2u);  // 4 bytes, a surrogate pair
  EXPECT_EQ(utf16_length("a€😀b"), 5u);
  EXPECT_EQ(utf16_length("\xff\xfe"), 2u);  // invalid bytes count one each
}

// --- encoding, text form ---

TEST(EngineioV3Encode, TextPacketsGetTheirLengthInUtf16Units) {
  EXPECT_EQ(encode_all({make_text_packet(PacketType::Open, "{}")}), "3:0{}");
  EXPECT_EQ(encode_all({message("2[\"é\"]"), make_text_packet(PacketType::Pong)}), "7:42[\"é\"]1:3");
  EXPECT_EQ(encode_all({message("😀")}), "3:4😀");
  EXPECT_EQ(encode_all({message("€€")}), "3:4€€");
}

TEST(EngineioV3Encode, BinaryIsBase64WhenTheClientTakesNoBinary) {
  bool binary_form = true;
  std::string body = encode_all({message("x"), make_binary_packet("\x01\x02\x03"s, Protocol::V3)}, false, &binary_form);
  EXPECT_FALSE(binary_form);
  EXPECT_EQ(body, "2:4x6:b4AQID");
  // A packet in the v4 form (no type byte) goes out the same.
  EXPECT_EQ(encode_all({make_binary_packet("\x01\x02\x03"s)}), "6:b4AQID");
}

TEST(EngineioV3Encode, BinaryFormWhenTheClientTakesBinary) {
  bool binary_form = false;
  std::string body = encode_all({message("é"), make_binary_packet("\xff\x00"s, Protocol::V3)}, true, &binary_form);
  EXPECT_TRUE(binary_form);
  // 0, length 3 (bytes) as digits, 0xff, "4é"; then 1, length 3, 0xff, type 4 and the bytes.
  EXPECT_EQ(body,
            "\x00\x03\xff"
            "4\xc3\xa9"
            "\x01\x03\xff\x04\xff\x00"s);
  // Text only: the text form, even for a client that takes binary.
  EXPECT_EQ(encode_all({message("ab")}, true, &binary_form), "3:4ab");
  EXPECT_FALSE(binary_form);
}

TEST(EngineioV3Encode, LongLengthsInTheBinaryFormHaveOneBytePerDigit) {
  std::string big(1234, 'z');
  std::string body = encode_all({make_binary_packet(big, Protocol::V3)}, true);
  EXPECT_EQ(body.substr(0, 6), "\x01\x01\x02\x03\x05\xff"s);  // 1235 = type byte + 1234
  EXPECT_EQ(body.size(), 6u + 1235u);
}

TEST(EngineioV3Encode, StopsBeforeThePacketThatPassesTheLimitButTakesOne) {
  std::vector<OutPacket> packets = {message("aaaa"), message("bbbb"), message("cccc")};
  size_t taken = 0;
  // Each is "5:4xxxx", 7 bytes.
  EXPECT_EQ(encode_all(packets, false, nullptr, 14, &taken), "5:4aaaa5:4bbbb");
  EXPECT_EQ(taken, 2u);
  EXPECT_EQ(encode_all(packets, false, nullptr, 1, &taken), "5:4aaaa");
  EXPECT_EQ(taken, 1u);
}

// --- decoding, text form ---

TEST(EngineioV3Decode, TextPayloadWithSeveralPackets) {
  auto decoded = decode_payload_v3("1:26:4hello2:40", false);
  ASSERT_EQ(decoded.error, "");
  ASSERT_EQ(decoded.packets.size(), 3u);
  EXPECT_EQ(decoded.packets[0].type, PacketType::Ping);
  EXPECT_EQ(decoded.packets[1].type, PacketType::Message);
  EXPECT_EQ(decoded.packets[1].data, "hello");
  EXPECT_EQ(decoded.packets[2].data, "0");
}

TEST(EngineioV3Decode, LengthsCountUtf16UnitsNotBytes) {
  auto decoded = decode_payload_v3("4:4é😀1:2", false);
  ASSERT_EQ(decoded.error, "");
  ASSERT_EQ(decoded.packets.size(), 2u);
  EXPECT_EQ(decoded.packets[0].data, "é😀");
  EXPECT_EQ(decoded.packets[1].type, PacketType::Ping);
  // Counted in bytes, the same text is malformed.
  EXPECT_NE(decode_payload_v3("8:4é😀", false).error, "");
}

TEST(EngineioV3Decode, ALengthThatSplitsASurrogatePairIsRefused) {
  auto decoded = decode_payload_v3("2:4😀", false);
  EXPECT_NE(decoded.error, "");
  EXPECT_TRUE(decoded.packets.empty());
}

TEST(EngineioV3Decode, Base64BinaryPacket) {
  auto decoded = decode_payload_v3("6:b4AQID2:4x", false);
  ASSERT_EQ(decoded.error, "");
  ASSERT_EQ(decoded.packets.size(), 2u);
  EXPECT_TRUE(decoded.packets[0].binary);
  EXPECT_EQ(decoded.packets[0].type, PacketType::Message);
  EXPECT_EQ(decoded.packets[0].data, "\x01\x02\x03"s);
  EXPECT_FALSE(decoded.packets[1].binary);
}

TEST(EngineioV3Decode, AnEmptyBinaryMessageIsValid) {
  auto decoded = decode_payload_v3("2:b4", false);
  ASSERT_EQ(decoded.error, "");
  ASSERT_EQ(decoded.packets.size(), 1u);
  EXPECT_TRUE(decoded.packets[0].binary);
  EXPECT_EQ(decoded.packets[0].data, "");
}

TEST(EngineioV3Decode, EmptyPacketsAreSkipped) {
  auto decoded = decode_payload_v3("0:1:2", false);
  ASSERT_EQ(decoded.error, "");
  ASSERT_EQ(decoded.packets.size(), 1u);
  EXPECT_EQ(decode_payload_v3("0:", false).packets.size(), 0u);
}

TEST(EngineioV3Decode, RoundTripsWhatTheEncoderMakes) {
  std::vector<OutPacket> packets = {message("2[\"ünïcödé 😀\"]"), make_binary_packet("\x00\x01\xfe"s, Protocol::V3),
                                    make_text_packet(PacketType::Ping, "probe")};
  for (bool binary : {false, true}) {
    bool binary_form = false;
    std::string body = encode_all(packets, binary, &binary_form);
    auto decoded = decode_payload_v3(body, binary_form);
    ASSERT_EQ(decoded.error, "") << binary;
    ASSERT_EQ(decoded.packets.size(), 3u) << binary;
    EXPECT_EQ(decoded.packets[0].data, "2[\"ünïcödé 😀\"]");
    EXPECT_TRUE(decoded.packets[1].binary);
    EXPECT_EQ(decoded.packets[1].data, "\x00\x01\xfe"s);
    EXPECT_EQ(decoded.packets[2].type, PacketType::Ping);
    EXPECT_EQ(decoded.packets[2].data, "probe");
  }
}

TEST(EngineioV3Decode, MalformedTextPayloadsGetAnError) {
  const std::vector<std::string> bodies = {
      "",               // empty body
      "4hello",         // no length
      ":4x",            // empty length
      "a:4x",           // not a number
      "-1:4x",          // not a number
      "3:4x",           // longer than what follows
      "2:4x1",          // trailing length without a packet
      "1:9",            // unknown type
      "5:b4A=B",        // bad base64
      "4:b2AA",         // a base64 packet that is not a message
      "1:b",            // 'b' alone
      "99999999999:4",  // length with too many digits
      "2:4\xff",        // invalid UTF-8
  };
  for (const auto& body : bodies) {
    auto decoded = decode_payload_v3(body, false);
    EXPECT_NE(decoded.error, "") << "accepted: " << body;
    EXPECT_TRUE(decoded.packets.empty()) << body;
  }
}

// --- decoding, binary form ---

TEST(EngineioV3Decode, BinaryFormWithTextAndBinaryPackets) {
  std::string body =
      "\x00\x02\xff"
      "42"
      "\x01\x04\xff\x04\x01\x02\x03"
      "\x00\x01\xff"
      "2"s;
  auto decoded = decode_payload_v3(body, true);
  ASSERT_EQ(decoded.error, "");
  ASSERT_EQ(decoded.packets.size(), 3u);
  EXPECT_EQ(decoded.packets[0].data, "2");
  EXPECT_TRUE(decoded.packets[1].binary);
  EXPECT_EQ(decoded.packets[1].data, "\x01\x02\x03"s);
  EXPECT_EQ(decoded.packets[2].type, PacketType::Ping);
}

TEST(EngineioV3Decode, MalformedBinaryPayloadsGetAnError) {
  const std::vector<std::string> bodies = {
      "\x02\x01\xff"
      "4"s,         // bad marker
      "\x00\x01"s,  // ends inside the length
      "\x00\xff"
      "4"s,  // no length digits
      "\x00\x0a\xff"
      "4"s,  // a digit byte above 9
      "\x00\x05\xff"
      "4x"s,                    // longer than what follows
      "\x01\x02\xff\x02\x00"s,  // a binary packet that is not a message
      "\x00\x02\xff"
      "4\xff"s,  // invalid UTF-8 text
      "\x00\x01\xff"
      "9"s,                                                     // unknown type
      "\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\xff"s,  // too many digits
      "\x00\x00\xff"s,                                          // an empty packet
  };
  for (const auto& body : bodies) {
    auto decoded = decode_payload_v3(body, true);
    EXPECT_NE(decoded.error, "") << "accepted a binary body of " << body.size() << " bytes";
    EXPECT_TRUE(decoded.packets.empty());
  }
}

}  // namespace engineio_payload_v3_test
}  // namespace herald::engineio
