// net::WsFrameParser: the frames a client sends, each rule the server enforces on them, and the same
// result however the stream is split, at a cost linear in the bytes received.
#include "net/ws_frame_parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace herald::net {
namespace ws_frame_parser_test {

using namespace std::string_literals;

constexpr uint8_t kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10;

// A client frame: masked unless told otherwise, with the shortest length form unless `long_form`.
std::string frame(uint8_t opcode, std::string_view payload, bool fin = true, bool masked = true,
                  bool long_form = false) {
  std::string out;
  out += static_cast<char>((fin ? 0x80 : 0) | opcode);
  char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (payload.size() < 126 && !long_form) {
    out += static_cast<char>(mask_bit | static_cast<char>(payload.size()));
  } else if (payload.size() <= 0xffff && !long_form) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size() & 0xff);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((uint64_t{payload.size()} >> (8 * i)) & 0xff);
  }
  const char key[4] = {0x37, static_cast<char>(0xfa), 0x21, 0x3d};
  if (masked) out.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ (masked ? key[i & 3] : 0));
  return out;
}

std::string close_payload(uint16_t code, std::string_view reason = {}) {
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)} + std::string(reason);
}

// Notes what the parser reports, as text that compares easily.
class Recorder : public WsFrameHandler {
 public:
  bool on_message(std::string_view data, bool binary) override {
    events.push_back((binary ? "binary:" : "text:") + std::string(data));
    last_data = data.data();
    return --allowed != 0;
  }
  bool on_ping(std::string_view payload) override { return note("ping:", payload); }
  bool on_pong(std::string_view payload) override { return note("pong:", payload); }
  bool on_close(uint16_t code, std::string_view reason) override {
    return note("close:" + std::to_string(code) + ":", reason);
  }

  std::vector<std::string> events;
  const char* last_data = nullptr;
  int allowed = -1;  // events before the handler asks to stop; negative: never

 private:
  bool note(const std::string& kind, std::string_view payload) {
    events.push_back(kind + std::string(payload));
    return --allowed != 0;
  }
};

struct Outcome {
  std::vector<std::string> events;
  uint16_t error;
  bool operator==(const Outcome&) const = default;
};

// Feeds `stream` in pieces of `piece` bytes (0: whole), each from a buffer of its own.
Outcome parse(const std::string& stream, size_t piece = 0, size_t max_message = 1 << 20) {
  WsFrameParser parser(max_message);
  Recorder recorder;
  size_t step = piece == 0 ? std::max<size_t>(stream.size(), 1) : piece;
  for (size_t pos = 0; pos < stream.size(); pos += step) {
    std::string buffer = stream.substr(pos, step);
    if (!parser.feed(buffer.data(), buffer.size(), recorder)) break;
    EXPECT_LE(parser.kept_header_bytes(), WsFrameParser::kMaxHeader);
  }
  return {recorder.events, parser.error()};
}

Outcome events(std::vector<std::string> list, uint16_t error = 0) { return {std::move(list), error}; }

TEST(WsFrameParser, DeliversTextBinaryAndControlFrames) {
  std::string stream = frame(kText, "hello") + frame(kBinary, "\x00\x01\xff"s) + frame(kPing, "p") + frame(kPong, "q") +
                       frame(kClose, close_payload(1000, "bye"));
  EXPECT_EQ(parse(stream), events({"text:hello", "binary:\x00\x01\xff"s, "ping:p", "pong:q", "close:1000:bye"}));
}

TEST(WsFrameParser, TakesEachLengthForm) {
  std::string medium(300, 'm'), large(70'000, 'l'), small_in_long_form = "tiny";
  std::string stream =
      frame(kText, medium) + frame(kBinary, large) + frame(kText, small_in_long_form, true, true, true);
  EXPECT_EQ(parse(stream), events({"text:" + medium, "binary:" + large, "text:tiny"}));
}

TEST(WsFrameParser, CompleteFrameIsDeliveredFromTheCallersBuffer) {
  std::string buffer = frame(kText, "in place");
  WsFrameParser parser(1000);
  Recorder recorder;
  ASSERT_TRUE(parser.feed(buffer.data(), buffer.size(), recorder));
  ASSERT_EQ(recorder.events, std::vector<std::string>{"text:in place"});
  EXPECT_GE(recorder.last_data, buffer.data());
  EXPECT_LT(recorder.last_data, buffer.data() + buffer.size());
  EXPECT_EQ(parser.copied_payload_bytes(), 0u);
  EXPECT_TRUE(parser.idle());
}

TEST(WsFrameParser, ReassemblesFragmentsAroundControlFrames) {
  std::string stream = frame(kText, "Hel", false) + frame(kPing, "between") + frame(0, "l", false) +
                       frame(0, "", false) + frame(0, "o") + frame(kBinary, "b1", false) + frame(0, "b2");
  EXPECT_EQ(parse(stream), events({"ping:between", "text:Hello", "binary:b1b2"}));
}

TEST(WsFrameParser, EmptyMessagesAndFragments) {
  std::string stream = frame(kText, "") + frame(kBinary, "", false) + frame(0, "") + frame(kPing, "");
  EXPECT_EQ(parse(stream), events({"text:", "binary:", "ping:"}));
}

TEST(WsFrameParser, TextCharacterMaySpanFragments) {
  // U+20AC in three bytes, cut across two fragments: only the whole message must be valid.
  std::string stream = frame(kText, "\xe2\x82", false) + frame(0, "\xac");
  EXPECT_EQ(parse(stream), events({"text:\xe2\x82\xac"}));
}

// ---- the rules ----

TEST(WsFrameParser, ReservedBitsAreAProtocolError) {
  for (char bit : {0x40, 0x20, 0x10}) {
    std::string stream = frame(kText, "x");
    stream[0] = static_cast<char>(stream[0] | bit);
    EXPECT_EQ(parse(stream), events({}, 1002)) << int(bit);
  }
}

TEST(WsFrameParser, UnmaskedFrameIsAProtocolError) {
  EXPECT_EQ(parse(frame(kText, "hi", true, false)), events({}, 1002));
  EXPECT_EQ(parse(frame(kPing, "", true, false)), events({}, 1002));
}

TEST(WsFrameParser, ControlFramesMustBeFinalAndShort) {
  EXPECT_EQ(parse(frame(kPing, "x", false)), events({}, 1002));
  EXPECT_EQ(parse(frame(kClose, "", false)), events({}, 1002));
  EXPECT_EQ(parse(frame(kPing, std::string(125, 'p'))), events({"ping:" + std::string(125, 'p')}));
  EXPECT_EQ(parse(frame(kPing, std::string(126, 'p'))), events({}, 1002));
  EXPECT_EQ(parse(frame(kPong, "short", true, true, true)), events({}, 1002)) << "a 64-bit length is 127";
}

TEST(WsFrameParser, LengthWithTheTopBitSetIsAProtocolError) {
  std::string stream = "\x82\xff"s + "\x80\x00\x00\x00\x00\x00\x00\x01"s + "keyk";
  EXPECT_EQ(parse(stream, 0, SIZE_MAX), events({}, 1002));
  EXPECT_EQ(parse(stream, 1, SIZE_MAX), events({}, 1002));
}

TEST(WsFrameParser, MessageOverTheLimitIsTooBig) {
  EXPECT_EQ(parse(frame(kText, std::string(100, 'a')), 0, 100), events({"text:" + std::string(100, 'a')}));
  EXPECT_EQ(parse(frame(kText, std::string(101, 'a')), 0, 100), events({}, 1009));
  // Refused from the header alone: the payload need not arrive.
  EXPECT_EQ(parse(frame(kBinary, std::string(5000, 'a')).substr(0, 8), 0, 100), events({}, 1009));
  // Fragments count together.
  std::string fragments =
      frame(kText, std::string(60, 'a'), false) + frame(kPing, "ok") + frame(0, std::string(41, 'b'));
  EXPECT_EQ(parse(fragments, 0, 100), events({"ping:ok"}, 1009));
  EXPECT_EQ(parse(fragments, 1, 100), events({"ping:ok"}, 1009));
}

TEST(WsFrameParser, ContinuationWithoutAStartIsAProtocolError) {
  EXPECT_EQ(parse(frame(0, "orphan")), events({}, 1002));
  EXPECT_EQ(parse(frame(kText, "done") + frame(0, "more")), events({"text:done"}, 1002));
}

TEST(WsFrameParser, NewMessageInsideAFragmentedOneIsAProtocolError) {
  EXPECT_EQ(parse(frame(kText, "a", false) + frame(kText, "b")), events({}, 1002));
  EXPECT_EQ(parse(frame(kBinary, "a", false) + frame(kBinary, "b", false)), events({}, 1002));
}

TEST(WsFrameParser, UnknownOpcodesAreAProtocolError) {
  for (uint8_t opcode : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15})
    EXPECT_EQ(parse(frame(opcode, "")), events({}, 1002)) << int(opcode);
}

TEST(WsFrameParser, InvalidUtf8TextIsInvalidPayload) {
  EXPECT_EQ(parse(frame(kText, "\xc3\x28")), events({}, 1007));
  EXPECT_EQ(parse(frame(kText, "ok", false) + frame(0, "\xed\xa0\x80")), events({}, 1007)) << "a surrogate";
  EXPECT_EQ(parse(frame(kText, "\xe2\x82", false) + frame(0, "")), events({}, 1007)) << "cut at the end";
  EXPECT_EQ(parse(frame(kBinary, "\xc3\x28")), events({"binary:\xc3\x28"}));
}

TEST(WsFrameParser, NothingIsParsedAfterAnError) {
  WsFrameParser parser(1000);
  Recorder recorder;
  std::string bad = frame(0, "orphan") + frame(kText, "after");
  EXPECT_FALSE(parser.feed(bad.data(), bad.size(), recorder));
  std::string good = frame(kText, "later");
  EXPECT_FALSE(parser.feed(good.data(), good.size(), recorder));
  EXPECT_TRUE(recorder.events.empty());
  EXPECT_EQ(parser.error(), 1002);
}

TEST(WsFrameParser, StopsWhenTheHandlerSaysSo) {
  WsFrameParser parser(1000);
  Recorder recorder;
  recorder.allowed = 1;
  std::string stream = frame(kText, "one") + frame(kText, "two");
  EXPECT_FALSE(parser.feed(stream.data(), stream.size(), recorder));
  EXPECT_EQ(recorder.events, std::vector<std::string>{"text:one"});
  EXPECT_EQ(parser.error(), 0) << "stopping is not a protocol error";
  EXPECT_FALSE(parser.feed(stream.data(), stream.size(), recorder));
  EXPECT_EQ(recorder.events.size(), 1u);
}

// ---- close frames ----

TEST(WsFrameParser, CloseWithoutPayloadHasNoStatus) { EXPECT_EQ(parse(frame(kClose, "")), events({"close:1005:"})); }

TEST(WsFrameParser, CloseWithOneBytePayloadIsAProtocolError) {
  EXPECT_EQ(parse(frame(kClose, "\x03")), events({}, 1002));
}

TEST(WsFrameParser, CloseCodesThatMayBeSentAreReported) {
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999})
    EXPECT_EQ(parse(frame(kClose, close_payload(code, "why"))), events({"close:" + std::to_string(code) + ":why"}))
        << code;
}

TEST(WsFrameParser, CloseCodesThatMayNotBeSentAreAProtocolError) {
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535})
    EXPECT_EQ(parse(frame(kClose, close_payload(code))), events({}, 1002)) << code;
}

TEST(WsFrameParser, CloseReasonMustBeUtf8) {
  EXPECT_EQ(parse(frame(kClose, close_payload(1000, "\xff"))), events({}, 1007));
  EXPECT_EQ(parse(frame(kClose, close_payload(1000, "caf\xc3\xa9"))), events({"close:1000:caf\xc3\xa9"}));
}

// ---- any split ----

// Frames of each kind and length form, fragments with a control frame between, and a close.
std::string mixed_stream() {
  return frame(kText, "first") + frame(kBinary, std::string(200, '\x7f')) + frame(kText, "frag", false) +
         frame(kPing, "ping!") + frame(0, std::string(70'000, 'z'), false) + frame(0, "end") +
         frame(kText, "long form", true, true, true) + frame(kPong, "") + frame(kClose, close_payload(3001, "r"));
}

TEST(WsFrameParser, OneByteAtATimeGivesTheSameResult) {
  std::string stream = mixed_stream();
  Outcome whole = parse(stream);
  ASSERT_EQ(whole.events.size(), 7u);
  EXPECT_EQ(parse(stream, 1), whole);
  for (size_t piece : {2, 3, 7, 13, 14, 15, 100, 4096}) EXPECT_EQ(parse(stream, piece), whole) << piece;
}

TEST(WsFrameParser, OneByteAtATimeGivesTheSameError) {
  std::vector<std::string> broken = {
      frame(kText, "ok") + frame(kText, "\xc3\x28"),
      frame(kText, "a", false) + frame(kPing, "p") + frame(kBinary, "b"),
      frame(kClose, close_payload(999)),
      frame(kText, std::string(500, 'x'), false) + frame(0, std::string(600, 'y')),
  };
  for (const auto& stream : broken) {
    Outcome whole = parse(stream, 0, 1000);
    EXPECT_NE(whole.error, 0);
    EXPECT_EQ(parse(stream, 1, 1000), whole);
  }
}

TEST(WsFrameParser, EverySplitInTwoGivesTheSameResult) {
  std::string stream = frame(kText, "a", false) + frame(kPing, "p") + frame(0, std::string(300, 'b')) +
                       frame(kBinary, "bin", true, true, true) + frame(kClose, close_payload(1000));
  Outcome whole = parse(stream);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    WsFrameParser parser(1 << 20);
    Recorder recorder;
    std::string first = stream.substr(0, cut), second = stream.substr(cut);
    ASSERT_TRUE(parser.feed(first.data(), first.size(), recorder)) << cut;
    ASSERT_TRUE(parser.feed(second.data(), second.size(), recorder)) << cut;
    EXPECT_EQ(recorder.events, whole.events) << cut;
    EXPECT_TRUE(parser.idle()) << cut;
  }
}

TEST(WsFrameParser, IdleOnlyBetweenMessages) {
  WsFrameParser parser(1000);
  Recorder recorder;
  EXPECT_TRUE(parser.idle());
  std::string stream = frame(kText, "a", false) + frame(0, "b");
  size_t first_frame = frame(kText, "a", false).size();
  ASSERT_TRUE(parser.feed(stream.data(), 1, recorder));
  EXPECT_FALSE(parser.idle()) << "half a header";
  ASSERT_TRUE(parser.feed(stream.data() + 1, first_frame - 1, recorder));
  EXPECT_FALSE(parser.idle()) << "a fragmented message";
  ASSERT_TRUE(parser.feed(stream.data() + first_frame, stream.size() - first_frame - 1, recorder));
  EXPECT_FALSE(parser.idle()) << "a payload cut short";
  ASSERT_TRUE(parser.feed(stream.data() + stream.size() - 1, 1, recorder));
  EXPECT_TRUE(parser.idle());
  EXPECT_EQ(recorder.events, std::vector<std::string>{"text:ab"});
}

TEST(WsFrameParser, SplitHeaderKeepsOnlyItsOwnBytes) {
  std::string stream = frame(kBinary, std::string(70'000, 'h'));  // 14 header bytes
  WsFrameParser parser(1 << 20);
  Recorder recorder;
  for (size_t i = 0; i < WsFrameParser::kMaxHeader; ++i) {
    EXPECT_EQ(parser.kept_header_bytes(), i);
    ASSERT_TRUE(parser.feed(stream.data() + i, 1, recorder));
  }
  EXPECT_EQ(parser.kept_header_bytes(), 0u) << "a complete header is not kept";
  ASSERT_TRUE(parser.feed(stream.data() + 14, stream.size() - 14, recorder));
  EXPECT_EQ(recorder.events, std::vector<std::string>{"binary:" + std::string(70'000, 'h')});
}

// Linear cost, counted rather than timed: a 1 MB frame in 100-byte pieces keeps no more than a
// header between pieces, copies each payload byte once, and grows its buffer geometrically.
TEST(WsFrameParser, LargeFrameInSmallPiecesCopiesEachByteOnce) {
  constexpr size_t kSize = 1 << 20;
  std::string payload(kSize, '\0');
  for (size_t i = 0; i < kSize; ++i) payload[i] = static_cast<char>('a' + i % 26);
  std::string stream = frame(kText, payload);
  WsFrameParser parser(kSize);
  Recorder recorder;
  size_t growths = 0, capacity = 0, max_kept = 0;
  for (size_t pos = 0; pos < stream.size(); pos += 100) {
    std::string piece = stream.substr(pos, 100);
    ASSERT_TRUE(parser.feed(piece.data(), piece.size(), recorder));
    max_kept = std::max(max_kept, parser.kept_header_bytes());
    if (parser.message_capacity() != capacity) {
      ++growths;
      capacity = parser.message_capacity();
      EXPECT_LE(capacity, 2 * kSize + 64);
    }
  }
  EXPECT_LE(max_kept, WsFrameParser::kMaxHeader);
  EXPECT_EQ(parser.copied_payload_bytes(), kSize);
  EXPECT_LE(growths, 40u) << "the message buffer grows by doubling, not by each piece";
  ASSERT_EQ(recorder.events.size(), 1u);
  EXPECT_TRUE(recorder.events[0] == "text:" + payload);
  EXPECT_TRUE(parser.idle());
  EXPECT_LE(parser.message_capacity(), std::string().capacity()) << "the delivered message took its buffer along";
}

TEST(WsFrameParser, FragmentedMessageCopiesEachByteOnce) {
  std::string stream;
  for (int i = 0; i < 100; ++i) stream += frame(i == 0 ? kBinary : 0, std::string(1000, 'f'), i == 99);
  WsFrameParser parser(1 << 20);
  Recorder recorder;
  for (size_t pos = 0; pos < stream.size(); pos += 333) {
    std::string piece = stream.substr(pos, 333);
    ASSERT_TRUE(parser.feed(piece.data(), piece.size(), recorder));
  }
  EXPECT_EQ(parser.copied_payload_bytes(), 100'000u);
  EXPECT_EQ(recorder.events, std::vector<std::string>{"binary:" + std::string(100'000, 'f')});
}

TEST(WsFrameParser, ValidCloseCodes) {
  EXPECT_FALSE(is_valid_close_code(999));
  EXPECT_TRUE(is_valid_close_code(1000));
  EXPECT_FALSE(is_valid_close_code(1004));
  EXPECT_TRUE(is_valid_close_code(1014));
  EXPECT_FALSE(is_valid_close_code(1015));
  EXPECT_FALSE(is_valid_close_code(2999));
  EXPECT_TRUE(is_valid_close_code(3000));
  EXPECT_TRUE(is_valid_close_code(4999));
  EXPECT_FALSE(is_valid_close_code(5000));
}

}  // namespace ws_frame_parser_test
}  // namespace herald::net
