// WebSocket frames as herald-bench's clients parse (from the server) and write (to it).
#include "ws/frame.hpp"

#include <gtest/gtest.h>

#include <string>

#include "server_frames.hpp"

namespace herald::bench::ws {
namespace {

// Reads back a frame written by append_frame: unmasks it and checks its header.
std::string unmask(std::string_view frame, uint8_t expected_first_byte) {
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), expected_first_byte);
  EXPECT_TRUE(static_cast<uint8_t>(frame[1]) & 0x80) << "client frames are masked";
  uint64_t length = static_cast<uint8_t>(frame[1]) & 0x7f;
  size_t pos = 2;
  if (length == 126) {
    length = (static_cast<uint64_t>(static_cast<uint8_t>(frame[2])) << 8) | static_cast<uint8_t>(frame[3]);
    pos = 4;
  } else if (length == 127) {
    length = 0;
    for (size_t i = 0; i < 8; ++i) length = (length << 8) | static_cast<uint8_t>(frame[2 + i]);
    pos = 10;
  }
  std::string_view key = frame.substr(pos, 4);
  pos += 4;
  EXPECT_EQ(frame.size(), pos + length);
  std::string payload(frame.substr(pos));
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ key[i % 4]);
  return payload;
}

TEST(WsFrame, ParsesAnUnmaskedTextFrame) {
  std::string bytes = server_frame(0x81, "42[\"message\",\"m1\"]");
  Frame frame;
  ASSERT_EQ(parse_frame(bytes, 1000, frame), ParseResult::Complete);
  EXPECT_EQ(frame.opcode, Opcode::Text);
  EXPECT_TRUE(frame.fin);
  EXPECT_EQ(frame.payload, "42[\"message\",\"m1\"]");
  EXPECT_EQ(frame.size, bytes.size());
}

TEST(WsFrame, ParsesOnlyTheFirstOfSeveralFrames) {
  std::string bytes = server_frame(0x81, "2") + server_frame(0x81, "3");
  Frame frame;
  ASSERT_EQ(parse_frame(bytes, 1000, frame), ParseResult::Complete);
  EXPECT_EQ(frame.payload, "2");
  EXPECT_EQ(frame.size, 3u);
}

TEST(WsFrame, ReadsSixteenAndSixtyFourBitLengths) {
  for (size_t size : {126u, 1000u, 65535u, 65536u, 200000u}) {
    std::string payload(size, 'x');
    std::string bytes = server_frame(0x82, payload);
    Frame frame;
    ASSERT_EQ(parse_frame(bytes, 1'000'000, frame), ParseResult::Complete) << size;
    EXPECT_EQ(frame.opcode, Opcode::Binary);
    EXPECT_EQ(frame.payload.size(), size);
    EXPECT_EQ(frame.size, bytes.size());
  }
}

TEST(WsFrame, EveryProperPrefixIsIncomplete) {
  for (size_t size : {0u, 5u, 300u, 70000u}) {
    std::string bytes = server_frame(0x81, std::string(size, 'a'));
    Frame frame;
    for (size_t cut = 0; cut < bytes.size(); cut += (cut < 20 ? 1 : 997))
      EXPECT_EQ(parse_frame(std::string_view(bytes).substr(0, cut), 1'000'000, frame), ParseResult::Incomplete)
          << size << " cut at " << cut;
  }
}

TEST(WsFrame, RefusesWhatAServerMayNotSend) {
  Frame frame;
  std::string masked = server_frame(0x81, "abc");
  masked[1] = static_cast<char>(masked[1] | 0x80);
  EXPECT_EQ(parse_frame(masked, 1000, frame), ParseResult::Invalid);
  EXPECT_EQ(parse_frame(server_frame(0xC1, "abc"), 1000, frame), ParseResult::Invalid) << "reserved bit";
  EXPECT_EQ(parse_frame(server_frame(0x83, "abc"), 1000, frame), ParseResult::Invalid) << "reserved opcode";
  EXPECT_EQ(parse_frame(server_frame(0x0B, ""), 1000, frame), ParseResult::Invalid) << "reserved control opcode";
  EXPECT_EQ(parse_frame(server_frame(0x09, "abc"), 1000, frame), ParseResult::Invalid) << "fragmented ping";
  EXPECT_EQ(parse_frame(server_frame(0x89, std::string(126, 'p')), 1000, frame), ParseResult::Invalid)
      << "control payload over 125 bytes";
  std::string long_short = {static_cast<char>(0x81), 126, 0, 5, 'a', 'b', 'c', 'd', 'e'};
  EXPECT_EQ(parse_frame(long_short, 1000, frame), ParseResult::Invalid) << "16-bit length below 126";
}

TEST(WsFrame, RefusesPayloadsOverTheLimitFromTheHeaderAlone) {
  std::string bytes = server_frame(0x81, std::string(5000, 'x')).substr(0, 10);
  Frame frame;
  EXPECT_EQ(parse_frame(bytes, 4999, frame), ParseResult::TooBig);
}

TEST(WsFrame, WritesMaskedFramesOfEveryLengthEncoding) {
  for (size_t size : {0u, 3u, 125u, 126u, 65535u, 65536u}) {
    std::string payload(size, 'q');
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + i % 26);
    std::string out = "prefix";
    append_frame(out, Opcode::Text, payload, 0x12345678);
    ASSERT_EQ(out.substr(0, 6), "prefix");
    EXPECT_EQ(unmask(std::string_view(out).substr(6), 0x81), payload) << size;
  }
}

TEST(WsFrame, WritesControlFrames) {
  std::string out;
  append_frame(out, Opcode::Pong, "hi", 0xdeadbeef);
  EXPECT_EQ(unmask(out, 0x8A), "hi");
  out.clear();
  append_frame(out, Opcode::Close, std::string_view("\x03\xe8", 2), 7);
  EXPECT_EQ(unmask(out, 0x88), std::string("\x03\xe8", 2));
}

}  // namespace
}  // namespace herald::bench::ws
