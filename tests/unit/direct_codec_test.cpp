// The frames of direct links between Herald nodes: each type round-trips, a stream split anywhere
// decodes the same, and bad input is refused without reading past it or reserving for it.
#include "cluster/direct_codec.hpp"

#include <gtest/gtest.h>

#include <string>

#include "cluster/direct_locator.hpp"

using namespace herald::cluster;
using namespace herald::cluster::direct;

namespace direct_codec_test {

Frame round_trip(const Frame& frame) {
  std::string bytes;
  encode(frame, bytes);
  Frame decoded;
  size_t consumed = 0;
  EXPECT_EQ(decode(bytes, decoded, consumed), Decoded::Ok);
  EXPECT_EQ(consumed, bytes.size());
  return decoded;
}

TEST(DirectCodec, PushRoundTrips) {
  Push push{0x0102030405060708ull, 10000, "/heikuai", {"u1", "", "ü-2"}, R"(["message","m1",{"a":1}])"};
  auto decoded = std::get<Push>(round_trip(push));
  EXPECT_EQ(decoded.request, push.request);
  EXPECT_EQ(decoded.timeout_ms, 10000u);
  EXPECT_EQ(decoded.nsp, "/heikuai");
  EXPECT_EQ(decoded.users, push.users);
  EXPECT_EQ(decoded.data, push.data);
}

TEST(DirectCodec, AnswersRoundTrip) {
  Reached reached{7, {{"sid1", "u1"}, {"sid2", ""}}};
  auto r = std::get<Reached>(round_trip(reached));
  EXPECT_EQ(r.request, 7u);
  EXPECT_EQ(r.sockets, reached.sockets);

  Reached none{8, {}};
  EXPECT_TRUE(std::get<Reached>(round_trip(none)).sockets.empty());

  Acks acks{9, {{{"sid1", "u1"}, "null"}, {{"sid2", "u2"}, R"({"ok":true})"}}};
  auto a = std::get<Acks>(round_trip(acks));
  EXPECT_EQ(a.request, 9u);
  EXPECT_EQ(a.acks, acks.acks);

  Dropped dropped{10, {"sid3", "u3"}};
  auto d = std::get<Dropped>(round_trip(dropped));
  EXPECT_EQ(d.request, 10u);
  EXPECT_EQ(d.socket, dropped.socket);
}

TEST(DirectCodec, AStreamSplitAnywhereDecodesTheSame) {
  std::string stream;
  encode(Push{1, 5, "/", {"a"}, "[\"e\"]"}, stream);
  encode(Reached{1, {{"s", "a"}}}, stream);
  encode(Acks{1, {{{"s", "a"}, "null"}}}, stream);
  for (size_t split = 0; split <= stream.size(); ++split) {
    std::string input = stream.substr(0, split);
    size_t frames = 0;
    size_t at = 0;
    auto drain = [&] {
      for (;;) {
        Frame frame;
        size_t consumed = 0;
        auto result = decode(std::string_view(input).substr(at), frame, consumed);
        if (result == Decoded::NeedMore) return;
        ASSERT_EQ(result, Decoded::Ok);
        at += consumed;
        ++frames;
      }
    };
    drain();
    input += stream.substr(split);
    drain();
    EXPECT_EQ(frames, 3u) << "split at " << split;
    EXPECT_EQ(at, stream.size());
  }
}

TEST(DirectCodec, RefusesBadFrames) {
  Frame frame;
  size_t consumed = 0;
  // An unknown type.
  std::string bytes;
  encode(Dropped{1, {"s", "u"}}, bytes);
  bytes[4] = 99;
  EXPECT_EQ(decode(bytes, frame, consumed), Decoded::Malformed);
  // A length past the limit is refused before its bytes arrive.
  std::string huge("\xff\xff\xff\x7f", 4);
  EXPECT_EQ(decode(huge, frame, consumed), Decoded::Malformed);
  // A body too short for its header.
  std::string tiny("\x02\x00\x00\x00\x01\x00", 6);
  EXPECT_EQ(decode(tiny, frame, consumed), Decoded::Malformed);
  // A count of users the body cannot hold: refused, nothing reserved for it.
  std::string push;
  encode(Push{1, 5, "/", {}, "[]"}, push);
  size_t count_at = 4 + 1 + 8 + 4 + 4 + 1;  // length, type, request, timeout, nsp "/"
  push[count_at] = '\xff';
  push[count_at + 1] = '\xff';
  push[count_at + 2] = '\xff';
  push[count_at + 3] = '\x0f';
  EXPECT_EQ(decode(push, frame, consumed), Decoded::Malformed);
  // Bytes left over after the fields.
  std::string padded;
  encode(Dropped{1, {"s", "u"}}, padded);
  padded[0] = static_cast<char>(padded[0] + 1);
  padded.push_back('x');
  EXPECT_EQ(decode(padded, frame, consumed), Decoded::Malformed);
  // A string running past the body.
  std::string cut;
  encode(Dropped{1, {"socket", "u"}}, cut);
  cut[4 + 1 + 8] = 100;
  EXPECT_EQ(decode(cut, frame, consumed), Decoded::Malformed);
}

TEST(DirectLocator, SplitsNodeAddresses) {
  EXPECT_EQ(DirectLocator::split_address("127.0.0.1:4000"), std::make_pair(std::string("127.0.0.1"), uint16_t{4000}));
  EXPECT_EQ(DirectLocator::split_address("[::1]:4000"), std::make_pair(std::string("::1"), uint16_t{4000}));
  EXPECT_EQ(DirectLocator::split_address("herald-2.internal:80"),
            std::make_pair(std::string("herald-2.internal"), uint16_t{80}));
  for (const char* bad : {"", "host", ":80", "host:", "host:0", "host:70000", "host:80x"})
    EXPECT_EQ(DirectLocator::split_address(bad).second, 0) << bad;
}

}  // namespace direct_codec_test
