// Engine.IO v4 packet and long-polling payload codec: one test per protocol rule.
#include "engineio/packet.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace herald::engineio {
namespace engineio_packet_test {

using namespace std::string_literals;

constexpr size_t kUnlimited = std::numeric_limits<size_t>::max();

std::string encode_all(const std::vector<OutPacket>& packets, size_t max_bytes = kUnlimited, size_t* taken = nullptr) {
  std::string out;
  size_t n = encode_payload(packets, max_bytes, out);
  if (taken) *taken = n;
  return out;
}

// --- Text packets (one WebSocket frame) ---

TEST(EngineioTextPacket, EveryPacketTypeDigitDecodes) {
  const std::vector<std::pair<char, PacketType>> types = {
      {'0', PacketType::Open},    {'1', PacketType::Close},   {'2', PacketType::Ping}, {'3', PacketType::Pong},
      {'4', PacketType::Message}, {'5', PacketType::Upgrade}, {'6', PacketType::Noop},
  };
  for (auto [digit, type] : types) {
    auto packet = decode_text_packet(std::string(1, digit));
    ASSERT_TRUE(packet) << digit;
    EXPECT_EQ(packet->type, type) << digit;
    EXPECT_FALSE(packet->binary);
    EXPECT_EQ(packet->data, "");
  }
}

TEST(EngineioTextPacket, DataIsEverythingAfterTheTypeDigit) {
  auto packet = decode_text_packet("42[\"hello\",1]");
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->type, PacketType::Message);
  EXPECT_EQ(packet->data, "2[\"hello\",1]");
}

TEST(EngineioTextPacket, ProbePingCarriesItsData) {
  auto packet = decode_text_packet("2probe");
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->type, PacketType::Ping);
  EXPECT_EQ(packet->data, "probe");
}

TEST(EngineioTextPacket, DataMayContainAnyBytes) {
  auto packet = decode_text_packet("4a\x1e\0b\xff"s);
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->data, "a\x1e\0b\xff"s);
}

TEST(EngineioTextPacket, UnknownTypeRefused) {
  for (std::string frame : {"7", "9hello", "a", "b", "x4", " 4", "-1", "/"}) {
    EXPECT_FALSE(decode_text_packet(frame)) << frame;
  }
  EXPECT_FALSE(decode_text_packet("\0"s));
  EXPECT_FALSE(decode_text_packet("\xff"));
}

TEST(EngineioTextPacket, EmptyFrameRefused) { EXPECT_FALSE(decode_text_packet("")); }

TEST(EngineioTextPacket, MakeTextPacketPrefixesTheTypeDigit) {
  auto packet = make_text_packet(PacketType::Message, "2[\"a\"]");
  EXPECT_FALSE(packet.binary);
  EXPECT_EQ(*packet.bytes, "42[\"a\"]");
  EXPECT_EQ(*make_text_packet(PacketType::Ping).bytes, "2");
  EXPECT_EQ(*make_text_packet(PacketType::Pong, "probe").bytes, "3probe");
  EXPECT_EQ(*make_text_packet(PacketType::Noop).bytes, "6");
  EXPECT_EQ(*make_text_packet(PacketType::Open, "{\"sid\":\"x\"}").bytes, "0{\"sid\":\"x\"}");
}

TEST(EngineioTextPacket, MakeBinaryPacketKeepsRawBytes) {
  auto packet = make_binary_packet("\x00\x01\xff"s);
  EXPECT_TRUE(packet.binary);
  EXPECT_EQ(*packet.bytes, "\x00\x01\xff"s);
}

TEST(EngineioTextPacket, MadePacketDecodesBack) {
  for (int t = 0; t <= 6; ++t) {
    auto type = static_cast<PacketType>(t);
    auto out = make_text_packet(type, "payload");
    auto packet = decode_text_packet(*out.bytes);
    ASSERT_TRUE(packet);
    EXPECT_EQ(packet->type, type);
    EXPECT_EQ(packet->data, "payload");
  }
}

// --- Long-polling payload decoding ---

TEST(EngineioPayloadDecode, SinglePacket) {
  auto packets = decode_payload("4hello");
  ASSERT_TRUE(packets);
  ASSERT_EQ(packets->size(), 1u);
  EXPECT_EQ((*packets)[0].type, PacketType::Message);
  EXPECT_EQ((*packets)[0].data, "hello");
}

TEST(EngineioPayloadDecode, PacketsSplitOnRecordSeparator) {
  auto packets = decode_payload(
      "4hello\x1e"
      "2\x1e"
      "3probe\x1e"
      "6");
  ASSERT_TRUE(packets);
  ASSERT_EQ(packets->size(), 4u);
  EXPECT_EQ((*packets)[0].type, PacketType::Message);
  EXPECT_EQ((*packets)[0].data, "hello");
  EXPECT_EQ((*packets)[1].type, PacketType::Ping);
  EXPECT_EQ((*packets)[1].data, "");
  EXPECT_EQ((*packets)[2].type, PacketType::Pong);
  EXPECT_EQ((*packets)[2].data, "probe");
  EXPECT_EQ((*packets)[3].type, PacketType::Noop);
}

TEST(EngineioPayloadDecode, BinaryPacketIsBPlusBase64) {
  auto packets = decode_payload("bAQIDBA==");
  ASSERT_TRUE(packets);
  ASSERT_EQ(packets->size(), 1u);
  EXPECT_TRUE((*packets)[0].binary);
  EXPECT_EQ((*packets)[0].type, PacketType::Message);
  EXPECT_EQ((*packets)[0].data, "\x01\x02\x03\x04");
}

TEST(EngineioPayloadDecode, TextAndBinaryMixed) {
  // The example of the Engine.IO protocol documentation.
  auto packets = decode_payload(
      "4hello\x1e"
      "bAQIDBA==");
  ASSERT_TRUE(packets);
  ASSERT_EQ(packets->size(), 2u);
  EXPECT_FALSE((*packets)[0].binary);
  EXPECT_EQ((*packets)[0].data, "hello");
  EXPECT_TRUE((*packets)[1].binary);
  EXPECT_EQ((*packets)[1].data, "\x01\x02\x03\x04");
}

TEST(EngineioPayloadDecode, EmptyBinaryPacketIsAccepted) {
  auto packets = decode_payload("b");
  ASSERT_TRUE(packets);
  ASSERT_EQ(packets->size(), 1u);
  EXPECT_TRUE((*packets)[0].binary);
  EXPECT_EQ((*packets)[0].data, "");
}

TEST(EngineioPayloadDecode, MalformedBase64RefusesWholePayload) {
  EXPECT_FALSE(
      decode_payload("4hello\x1e"
                     "bAQIDBA="));  // bad length
  EXPECT_FALSE(
      decode_payload("4hello\x1e"
                     "bAQ!DBA=="));  // bad character
  EXPECT_FALSE(
      decode_payload("bA===\x1e"
                     "4hello"));  // bad padding, first packet
  EXPECT_FALSE(
      decode_payload("4a\x1e"
                     "bAQ==AAAA\x1e"
                     "4b"));  // padding in the middle
}

TEST(EngineioPayloadDecode, UnknownTypeRefusesWholePayload) {
  EXPECT_FALSE(
      decode_payload("4hello\x1e"
                     "7x"));
  EXPECT_FALSE(
      decode_payload("x\x1e"
                     "4hello"));
}

TEST(EngineioPayloadDecode, EmptyBodyRefused) { EXPECT_FALSE(decode_payload("")); }

TEST(EngineioPayloadDecode, EmptyPacketInsidePayloadRefused) {
  EXPECT_FALSE(
      decode_payload("4a\x1e\x1e"
                     "4b"));  // between two packets
  EXPECT_FALSE(
      decode_payload("\x1e"
                     "4a"));               // leading separator
  EXPECT_FALSE(decode_payload("4a\x1e"));  // trailing separator
  EXPECT_FALSE(decode_payload("\x1e"));
}

// --- Long-polling payload encoding ---

TEST(EngineioPayloadEncode, JoinsPacketsWithRecordSeparator) {
  std::vector<OutPacket> packets = {make_text_packet(PacketType::Message, "hello"), make_text_packet(PacketType::Ping),
                                    make_text_packet(PacketType::Noop)};
  size_t taken = 0;
  EXPECT_EQ(encode_all(packets, kUnlimited, &taken),
            "4hello\x1e"
            "2\x1e"
            "6");
  EXPECT_EQ(taken, 3u);
}

TEST(EngineioPayloadEncode, SinglePacketHasNoSeparator) {
  std::vector<OutPacket> packets = {make_text_packet(PacketType::Message, "x")};
  EXPECT_EQ(encode_all(packets), "4x");
}

TEST(EngineioPayloadEncode, BinaryPacketsAreBase64WithBPrefix) {
  std::vector<OutPacket> packets = {make_text_packet(PacketType::Message, "hello"),
                                    make_binary_packet("\x01\x02\x03\x04")};
  EXPECT_EQ(encode_all(packets),
            "4hello\x1e"
            "bAQIDBA==");
}

TEST(EngineioPayloadEncode, EmptyBinaryPacketIsJustB) {
  std::vector<OutPacket> packets = {make_binary_packet("")};
  EXPECT_EQ(encode_all(packets), "b");
}

TEST(EngineioPayloadEncode, AppendsToExistingOutput) {
  std::vector<OutPacket> packets = {make_text_packet(PacketType::Ping)};
  std::string out = "prefix:";
  EXPECT_EQ(encode_payload(packets, kUnlimited, out), 1u);
  EXPECT_EQ(out, "prefix:2");
}

TEST(EngineioPayloadEncode, EmptyListEncodesNothing) {
  std::string out;
  EXPECT_EQ(encode_payload({}, kUnlimited, out), 0u);
  EXPECT_EQ(out, "");
}

TEST(EngineioPayloadEncode, StopsBeforePacketThatWouldExceedMaxBytes) {
  // "4aaaa" (5) + RS + "4bbbb" (5) = 11 bytes; + RS + "4cccc" = 17.
  std::vector<OutPacket> packets = {make_text_packet(PacketType::Message, "aaaa"),
                                    make_text_packet(PacketType::Message, "bbbb"),
                                    make_text_packet(PacketType::Message, "cccc")};
  size_t taken = 0;
  EXPECT_EQ(encode_all(packets, 11, &taken),
            "4aaaa\x1e"
            "4bbbb");
  EXPECT_EQ(taken, 2u);
  EXPECT_EQ(encode_all(packets, 16, &taken),
            "4aaaa\x1e"
            "4bbbb");
  EXPECT_EQ(taken, 2u);
  EXPECT_EQ(encode_all(packets, 17, &taken).size(), 17u);
  EXPECT_EQ(taken, 3u);
  EXPECT_EQ(encode_all(packets, 10, &taken), "4aaaa");
  EXPECT_EQ(taken, 1u);
}

TEST(EngineioPayloadEncode, MaxBytesCountsBinaryAsEncodedBase64) {
  // 4 raw bytes become "b" + 8 base64 characters: 9 bytes on the wire.
  std::vector<OutPacket> packets = {make_text_packet(PacketType::Message, "a"), make_binary_packet("\x01\x02\x03\x04")};
  size_t taken = 0;
  EXPECT_EQ(encode_all(packets, 2 + 1 + 9, &taken),
            "4a\x1e"
            "bAQIDBA==");
  EXPECT_EQ(taken, 2u);
  EXPECT_EQ(encode_all(packets, 2 + 1 + 8, &taken), "4a");
  EXPECT_EQ(taken, 1u);
}

TEST(EngineioPayloadEncode, AlwaysTakesAtLeastOnePacket) {
  std::vector<OutPacket> packets = {make_text_packet(PacketType::Message, std::string(100, 'x')),
                                    make_text_packet(PacketType::Ping)};
  size_t taken = 0;
  std::string out = encode_all(packets, 10, &taken);
  EXPECT_EQ(taken, 1u);
  EXPECT_EQ(out, "4" + std::string(100, 'x'));
  out = encode_all(packets, 0, &taken);
  EXPECT_EQ(taken, 1u);
}

TEST(EngineioPayloadEncode, ReportsHowManyPacketsItTookSoCallerCanContinue) {
  std::vector<OutPacket> packets;
  for (int i = 0; i < 10; ++i) packets.push_back(make_text_packet(PacketType::Message, std::string(9, char('a' + i))));
  // Each packet is 10 bytes; 32 bytes fit three (10 + 1 + 10 + 1 + 10).
  std::span<const OutPacket> rest = packets;
  std::vector<std::string> bodies;
  while (!rest.empty()) {
    std::string out;
    size_t taken = encode_payload(rest, 32, out);
    ASSERT_GE(taken, 1u);
    bodies.push_back(out);
    rest = rest.subspan(taken);
  }
  ASSERT_EQ(bodies.size(), 4u);
  size_t total = 0;
  for (const auto& body : bodies) {
    auto decoded = decode_payload(body);
    ASSERT_TRUE(decoded);
    total += decoded->size();
    EXPECT_LE(body.size(), 32u);
  }
  EXPECT_EQ(total, 10u);
}

TEST(EngineioPayloadEncode, RoundTripsThroughDecode) {
  std::vector<OutPacket> packets;
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);
  for (int i = 0; i < 50; ++i) {
    if (i % 3 == 0)
      packets.push_back(make_binary_packet(all_bytes.substr(0, static_cast<size_t>(i * 5 % 256))));
    else
      packets.push_back(make_text_packet(static_cast<PacketType>(i % 7), "data-" + std::to_string(i)));
  }
  std::string out;
  ASSERT_EQ(encode_payload(packets, kUnlimited, out), packets.size());
  auto decoded = decode_payload(out);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->size(), packets.size());
  for (size_t i = 0; i < packets.size(); ++i) {
    const auto& p = (*decoded)[i];
    EXPECT_EQ(p.binary, packets[i].binary) << i;
    if (p.binary) {
      EXPECT_EQ(p.type, PacketType::Message);
      EXPECT_EQ(p.data, *packets[i].bytes) << i;
    } else {
      EXPECT_EQ(*make_text_packet(p.type, p.data).bytes, *packets[i].bytes) << i;
    }
  }
}

}  // namespace engineio_packet_test
}  // namespace herald::engineio
