// Reads split at every possible place, fragmented messages and control frames, as herald-bench's
// WebSocket clients see them.
#include "ws/message_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "server_frames.hpp"

namespace herald::bench::ws {
namespace {

std::string text(std::string_view payload) { return server_frame(0x81, payload); }

// Records what the reader hands on, in order.
class Recorder final : public MessageSink {
 public:
  std::vector<std::string> events;
  size_t stop_after = SIZE_MAX;  // messages to take before saying the connection ended

  bool on_message(std::string_view data, bool binary) override {
    events.push_back((binary ? "binary:" : "text:") + std::string(data));
    return events.size() < stop_after;
  }
  bool on_ping(std::string_view payload) override {
    events.push_back("ping:" + std::string(payload));
    return true;
  }
  void on_close(std::string_view payload) override { events.push_back("close:" + std::string(payload)); }
};

// Feeds `bytes` as reads of at most `read_size` bytes each through a chunk of `chunk_size`.
MessageReader::Status feed(MessageReader& reader, MessageSink& sink, std::string_view bytes, size_t read_size,
                           size_t chunk_size) {
  std::vector<char> chunk(chunk_size);
  size_t pos = 0;
  while (pos < bytes.size()) {
    auto space = reader.prepare(chunk);
    size_t size = std::min({read_size, space.size(), bytes.size() - pos});
    std::memcpy(space.data(), bytes.data() + pos, size);
    pos += size;
    auto status = reader.commit(size, sink);
    if (status != MessageReader::Status::Ok) return status;
  }
  return MessageReader::Status::Ok;
}

TEST(WsMessageReader, HandsOnEveryMessageOfOneRead) {
  MessageReader reader;
  Recorder sink;
  std::string bytes = text("0{\"sid\":\"a\"}") + text("40") + text("42[\"message\",\"m1\"]");
  ASSERT_EQ(feed(reader, sink, bytes, bytes.size(), 4096), MessageReader::Status::Ok);
  EXPECT_EQ(sink.events, (std::vector<std::string>{"text:0{\"sid\":\"a\"}", "text:40", "text:42[\"message\",\"m1\"]"}));
}

TEST(WsMessageReader, FramesSplitAtEveryByteComeOutWhole) {
  std::string big(70000, 'b');
  std::string medium(300, 'm');
  std::string bytes = text("first") + text(medium) + server_frame(0x89, "p") + text(big) + text("last");
  std::vector<std::string> expected = {"text:first", "text:" + medium, "ping:p", "text:" + big, "text:last"};
  for (size_t read_size : {1u, 2u, 3u, 7u, 64u, 1000u, 65536u}) {
    for (size_t chunk_size : {16u, 4096u, 65536u}) {
      MessageReader reader;
      Recorder sink;
      ASSERT_EQ(feed(reader, sink, bytes, read_size, chunk_size), MessageReader::Status::Ok);
      EXPECT_EQ(sink.events, expected) << "reads of " << read_size << ", chunk " << chunk_size;
    }
  }
}

TEST(WsMessageReader, ReassemblesFragmentedMessagesAroundControlFrames) {
  std::string bytes = server_frame(0x01, "42[\"mes") + server_frame(0x89, "ping") + server_frame(0x00, "sage\",") +
                      server_frame(0x80, "\"m2\"]") + server_frame(0x02, "\x01\x02") + server_frame(0x80, "\x03");
  for (size_t read_size : {1u, 5u, 1000u}) {
    MessageReader reader;
    Recorder sink;
    ASSERT_EQ(feed(reader, sink, bytes, read_size, 64), MessageReader::Status::Ok);
    EXPECT_EQ(sink.events,
              (std::vector<std::string>{"ping:ping", "text:42[\"message\",\"m2\"]", "binary:\x01\x02\x03"}));
  }
}

TEST(WsMessageReader, StopsAtACloseFrame) {
  MessageReader reader;
  Recorder sink;
  std::string bytes = text("a") + server_frame(0x88, "\x03\xe8") + text("after close");
  EXPECT_EQ(feed(reader, sink, bytes, bytes.size(), 4096), MessageReader::Status::Closed);
  EXPECT_EQ(sink.events, (std::vector<std::string>{"text:a", "close:\x03\xe8"}));
}

TEST(WsMessageReader, StopsWhenTheSinkEndsTheConnection) {
  MessageReader reader;
  Recorder sink;
  sink.stop_after = 1;
  std::string bytes = text("1") + text("2");
  EXPECT_EQ(feed(reader, sink, bytes, bytes.size(), 4096), MessageReader::Status::Stopped);
  EXPECT_EQ(sink.events, (std::vector<std::string>{"text:1"}));
}

TEST(WsMessageReader, RefusesBrokenFrameSequences) {
  Recorder sink;
  {
    MessageReader reader;
    EXPECT_EQ(feed(reader, sink, server_frame(0x80, "orphan continuation"), 100, 4096), MessageReader::Status::Invalid);
  }
  {
    MessageReader reader;
    std::string bytes = server_frame(0x01, "unfinished") + text("new message");
    EXPECT_EQ(feed(reader, sink, bytes, 100, 4096), MessageReader::Status::Invalid);
  }
  {
    MessageReader reader;
    std::string masked = text("x");
    masked[1] = static_cast<char>(masked[1] | 0x80);
    EXPECT_EQ(feed(reader, sink, masked, 100, 4096), MessageReader::Status::Invalid);
  }
}

TEST(WsMessageReader, RefusesMessagesOverTheLimitEvenInFragments) {
  Recorder sink;
  {
    MessageReader reader(10);
    EXPECT_EQ(feed(reader, sink, text("eleven char"), 100, 4096), MessageReader::Status::TooBig);
  }
  {
    MessageReader reader(10);
    std::string bytes = server_frame(0x01, "123456") + server_frame(0x80, "78901");
    EXPECT_EQ(feed(reader, sink, bytes, 100, 4096), MessageReader::Status::TooBig);
  }
}

TEST(WsMessageReader, SurvivesArbitraryBytes) {
  std::minstd_rand random(7);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(random() % 300, '\0');
    for (auto& byte : bytes) byte = static_cast<char>(random());
    // Mostly well-formed headers, so that parsing gets past the first frame.
    for (size_t pos = 0; pos + 1 < bytes.size(); pos += 2 + random() % 40) {
      bytes[pos] = static_cast<char>((random() % 2 ? 0x80 : 0) | (random() % 3 == 0 ? 9 : random() % 3));
      bytes[pos + 1] = static_cast<char>(random() % 40);
    }
    MessageReader reader(200);
    Recorder sink;
    feed(reader, sink, bytes, 1 + random() % 50, 32 + random() % 64);
  }
}

TEST(WsMessageReader, ResetForgetsAHalfReadFrame) {
  MessageReader reader;
  Recorder sink;
  std::string frame = text("complete");
  ASSERT_EQ(feed(reader, sink, std::string_view(frame).substr(0, 4), 100, 4096), MessageReader::Status::Ok);
  reader.reset();
  ASSERT_EQ(feed(reader, sink, frame, 100, 4096), MessageReader::Status::Ok);
  EXPECT_EQ(sink.events, (std::vector<std::string>{"text:complete"}));
}

}  // namespace
}  // namespace herald::bench::ws
