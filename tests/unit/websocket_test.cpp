// net::WebSocket over a real loopback TCP connection: the test plays the client with raw frames
// and runs the server's io_context between steps.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/websocket.hpp"

namespace herald::net {
namespace websocket_test {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

constexpr std::string_view kHandshake = "HTTP/1.1 101 Switching Protocols\r\n\r\n";

struct Frame {
  uint8_t opcode;
  std::string payload;
};

// A masked client frame.
std::string client_frame(uint8_t opcode, std::string_view payload, bool fin = true) {
  std::string out;
  out += static_cast<char>((fin ? 0x80 : 0) | opcode);
  if (payload.size() < 126) {
    out += static_cast<char>(0x80 | payload.size());
  } else if (payload.size() <= 0xffff) {
    out += static_cast<char>(0x80 | 126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size() & 0xff);
  } else {
    out += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) out += static_cast<char>((payload.size() >> (8 * i)) & 0xff);
  }
  const char key[4] = {0x11, 0x22, 0x33, 0x44};
  out.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ key[i & 3]);
  return out;
}

std::string close_code(uint16_t code) { return {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)}; }

// Splits what the server sent into unmasked frames; an incomplete tail stays in `data`.
std::vector<Frame> parse_frames(std::string& data) {
  std::vector<Frame> frames;
  size_t pos = 0;
  while (data.size() - pos >= 2) {
    auto* p = reinterpret_cast<const uint8_t*>(data.data() + pos);
    EXPECT_EQ(p[0] & 0xf0, 0x80) << "server frames are final and carry no extension bits";
    EXPECT_EQ(p[1] & 0x80, 0) << "server frames are not masked";
    uint64_t length = p[1] & 0x7f;
    size_t header = length == 126 ? 4 : length == 127 ? 10 : 2;
    if (data.size() - pos < header) break;
    if (length == 126) length = (uint64_t{p[2]} << 8) | p[3];
    if (length == 127) {
      length = 0;
      for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
    }
    if (data.size() - pos - header < length) break;
    frames.push_back(Frame{static_cast<uint8_t>(p[0] & 0x0f), data.substr(pos + header, length)});
    pos += header + length;
  }
  data.erase(0, pos);
  return frames;
}

std::shared_ptr<const std::string> bytes(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

// A payload that shows where it was cut if it arrives damaged.
std::string pattern(size_t size, int seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return out;
}

class Recorder : public WebSocketHandler {
 public:
  void on_ws_message(WebSocket&, std::string_view data, bool binary) override {
    messages.emplace_back(std::string(data), binary);
  }
  void on_ws_closed(WebSocket&) override {
    ++closed;
    if (on_close) on_close();
  }

  std::vector<std::pair<std::string, bool>> messages;
  int closed = 0;
  std::function<void()> on_close;
};

// The client end of one connection, and the server's WebSocket for it.
struct Peer {
  explicit Peer(asio::io_context& io) : context(io), client(io) {}
  ~Peer() {
    if (ws) ws->set_handler(nullptr);
  }

  void send(std::string_view data) {
    ASSERT_EQ(::send(client.native_handle(), data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }

  // Reads whatever has arrived without waiting; notes when the server closed the connection.
  void read() {
    char buffer[65536];
    for (;;) {
      ssize_t n = ::recv(client.native_handle(), buffer, sizeof buffer, MSG_DONTWAIT);
      if (n > 0) {
        received.append(buffer, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      return;
    }
  }

  // Runs the server and reads until `done` or a deadline.
  void pump(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      if (context.stopped()) context.restart();  // it ran out of work, as when every connection closed
      context.run_for(2ms);
      read();
    }
  }

  // Runs the server until `count` frames arrived after the handshake response.
  std::vector<Frame> receive(size_t count) {
    std::vector<Frame> frames;
    pump([&] {
      if (!handshake_seen && received.size() >= kHandshake.size()) {
        EXPECT_EQ(received.substr(0, kHandshake.size()), kHandshake);
        received.erase(0, kHandshake.size());
        handshake_seen = true;
      }
      if (handshake_seen)
        for (auto& frame : parse_frames(received)) frames.push_back(std::move(frame));
      return frames.size() >= count;
    });
    EXPECT_EQ(frames.size(), count);
    return frames;
  }

  asio::io_context& context;
  tcp::socket client;
  Recorder handler;
  std::shared_ptr<WebSocket> ws;
  std::string received;
  bool handshake_seen = false;
  bool eof = false;
};

class WebSocketTest : public ::testing::Test {
 protected:
  // Connects a client; `small_buffers` makes the server's socket fill up quickly.
  Peer& open(WebSocketLimits limits = {}, std::string already_read = {}, bool small_buffers = false) {
    auto& peer = *peers_.emplace_back(std::make_unique<Peer>(context));
    tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    if (small_buffers) {
      peer.client.open(tcp::v4());
      peer.client.set_option(asio::socket_base::receive_buffer_size(4096));
    }
    peer.client.connect(acceptor.local_endpoint());
    tcp::socket server(context);
    acceptor.accept(server);
    if (small_buffers) server.set_option(asio::socket_base::send_buffer_size(4096));
    peer.ws = std::make_shared<WebSocket>(std::move(server), limits);
    peer.ws->set_handler(&peer.handler);
    peer.ws->start(std::string(kHandshake), std::move(already_read));
    return peer;
  }

  asio::io_context context{1};

 private:
  std::vector<std::unique_ptr<Peer>> peers_;
};

TEST_F(WebSocketTest, IdleConnectionIsSmall) {
  // An idle connection is mostly this object; queues and rare state live on the heap only while used.
  EXPECT_LE(sizeof(WebSocket), 112u);
}

TEST_F(WebSocketTest, WhatQueuesInOneTurnGoesOutAtItsEnd) {
  auto& peer = open();
  ASSERT_TRUE(peer.ws->send(bytes("one"), false));
  ASSERT_TRUE(peer.ws->send(bytes(std::string("\x00\x01", 2)), true));
  ASSERT_TRUE(peer.ws->send(bytes("three"), false));
  EXPECT_EQ(peer.ws->queued_bytes(), kHandshake.size() + 3 + 2 + 5);
  peer.read();
  EXPECT_TRUE(peer.received.empty()) << "nothing is written before the turn ends";

  auto frames = peer.receive(3);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].opcode, 1);
  EXPECT_EQ(frames[0].payload, "one");
  EXPECT_EQ(frames[1].opcode, 2);
  EXPECT_EQ(frames[1].payload, std::string("\x00\x01", 2));
  EXPECT_EQ(frames[2].payload, "three");
  EXPECT_EQ(peer.ws->queued_bytes(), 0u);

  // Sent from a later turn, the next message goes out in its own write.
  ASSERT_TRUE(peer.ws->send(bytes(""), false));
  frames = peer.receive(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, "");
}

TEST_F(WebSocketTest, BroadcastSharesItsBuffersAcrossConnections) {
  std::vector<Peer*> peers(5);
  for (auto*& peer : peers) peer = &open();
  // A packet and its attachment, queued to each recipient in turn, twice.
  auto text = bytes("51-[\"event\",{\"_placeholder\":true,\"num\":0}]");
  auto attachment = bytes(std::string("\x01\x02\x03", 3));
  for (int round = 0; round < 2; ++round) {
    for (auto* peer : peers) {
      ASSERT_TRUE(peer->ws->send(text, false));
      ASSERT_TRUE(peer->ws->send(attachment, true));
    }
  }
  for (auto* peer : peers) {
    auto frames = peer->receive(4);
    ASSERT_EQ(frames.size(), 4u);
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(frames[i].opcode, i % 2 == 0 ? 1 : 2);
      EXPECT_EQ(frames[i].payload, i % 2 == 0 ? *text : *attachment);
    }
  }
  EXPECT_EQ(text.use_count(), 1) << "written frames hold no reference";
}

TEST_F(WebSocketTest, FullSocketWritesTheRestWhenWritableInOrder) {
  auto& peer = open({}, {}, true);
  // Sizes that take each header length (1, 3 and 9 length bytes), queued over several turns.
  std::vector<std::string> sent;
  for (int i = 0; i < 40; ++i) {
    size_t size = i % 3 == 0 ? 100 : i % 3 == 1 ? 30'000 : 70'000;
    sent.push_back(pattern(size, i));
    ASSERT_TRUE(peer.ws->send(bytes(sent.back()), i % 2 == 1));
    if (i % 10 == 9) context.poll();
  }
  EXPECT_GT(peer.ws->queued_bytes(), 0u) << "the client reads nothing yet, so the socket is full";

  auto frames = peer.receive(sent.size());
  ASSERT_EQ(frames.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(frames[i].opcode, i % 2 == 1 ? 2 : 1) << i;
    EXPECT_TRUE(frames[i].payload == sent[i]) << "frame " << i << " differs";
  }
  EXPECT_EQ(peer.ws->queued_bytes(), 0u);
  EXPECT_TRUE(peer.ws->is_open());
}

TEST_F(WebSocketTest, MoreFramesThanOneWriteTakes) {
  auto& peer = open();
  constexpr int kCount = 3000;  // more than IOV_MAX iovecs
  for (int i = 0; i < kCount; ++i) ASSERT_TRUE(peer.ws->send(bytes(std::to_string(i)), false));
  auto frames = peer.receive(kCount);
  ASSERT_EQ(frames.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(frames[i].payload, std::to_string(i));
  EXPECT_EQ(peer.ws->queued_bytes(), 0u);
}

TEST_F(WebSocketTest, ClientThatFallsBehindIsCutOff) {
  WebSocketLimits limits;
  limits.max_queued_bytes = 200'000;
  auto& peer = open(limits, {}, true);
  bool refused = false;
  for (int i = 0; i < 1000; ++i) {
    refused = !peer.ws->send(bytes(pattern(10'000, i)), false);
    if (refused) break;
    context.poll();
  }
  EXPECT_TRUE(refused);
  EXPECT_TRUE(peer.ws->overflowed());
  EXPECT_FALSE(peer.ws->is_open());
  EXPECT_FALSE(peer.ws->send(bytes("late"), false));
  EXPECT_EQ(peer.handler.closed, 0) << "the handler hears of the close after the call, not inside it";
  context.poll();
  EXPECT_EQ(peer.handler.closed, 1);
}

TEST_F(WebSocketTest, AnswersPingWithPong) {
  auto& peer = open();
  peer.send(client_frame(9, "are you there"));
  auto frames = peer.receive(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, 10);
  EXPECT_EQ(frames[0].payload, "are you there");
}

TEST_F(WebSocketTest, ReassemblesFragmentedAndSplitMessages) {
  std::string first = client_frame(1, "from the upgrade request");
  auto& peer = open({}, first.substr(0, 5));
  auto& messages = peer.handler.messages;
  peer.send(first.substr(5));
  // A fragmented message with a ping between its fragments, then a frame in two pieces.
  peer.send(client_frame(1, "Hel", false) + client_frame(9, "p") + client_frame(0, "lo"));
  std::string split = client_frame(2, std::string(300, 'x'));
  peer.send(split.substr(0, 3));
  peer.pump([&] { return messages.size() == 2; });
  peer.send(split.substr(3));
  peer.pump([&] { return messages.size() == 3; });
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0], std::make_pair(std::string("from the upgrade request"), false));
  EXPECT_EQ(messages[1], std::make_pair(std::string("Hello"), false));
  EXPECT_EQ(messages[2], std::make_pair(std::string(300, 'x'), true));
  auto frames = peer.receive(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, 10);
}

TEST_F(WebSocketTest, InvalidFramesCloseWithProtocolError) {
  auto& peer = open();
  peer.send(std::string("\x81\x02hi", 4));  // not masked
  auto frames = peer.receive(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, 8);
  EXPECT_EQ(frames[0].payload, close_code(1002));
  EXPECT_EQ(peer.handler.closed, 1);
  EXPECT_FALSE(peer.ws->is_open());
}

TEST_F(WebSocketTest, PeerCloseIsEchoedReportedAndEnds) {
  auto& peer = open();
  peer.send(client_frame(8, close_code(1001)));
  auto frames = peer.receive(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, 8);
  EXPECT_EQ(frames[0].payload, close_code(1001));
  EXPECT_EQ(peer.handler.closed, 1);
  peer.pump([&] { return peer.eof; });
  EXPECT_TRUE(peer.eof);
}

// What the server answers a close frame with `payload`.
std::string close_answer(Peer& peer, std::string_view payload) {
  peer.send(client_frame(8, payload));
  auto frames = peer.receive(1);
  if (frames.size() != 1 || frames[0].opcode != 8) return "no close frame";
  EXPECT_EQ(peer.handler.closed, 1);
  EXPECT_FALSE(peer.ws->is_open());
  return frames[0].payload;
}

TEST_F(WebSocketTest, CloseCodesAPeerMayNotSendAreAProtocolError) {
  EXPECT_EQ(close_answer(open(), close_code(999)), close_code(1002));
  EXPECT_EQ(close_answer(open(), close_code(1005)), close_code(1002));
  EXPECT_EQ(close_answer(open(), close_code(1006)), close_code(1002));
  EXPECT_EQ(close_answer(open(), close_code(2000)), close_code(1002));
  EXPECT_EQ(close_answer(open(), close_code(5000)), close_code(1002));
}

TEST_F(WebSocketTest, ApplicationCloseCodeIsEchoed) {
  EXPECT_EQ(close_answer(open(), close_code(3000) + "done"), close_code(3000));
  EXPECT_EQ(close_answer(open(), close_code(4999)), close_code(4999));
}

TEST_F(WebSocketTest, CloseWithoutCodeIsAnsweredWithNormal) { EXPECT_EQ(close_answer(open(), ""), close_code(1000)); }

TEST_F(WebSocketTest, CloseWithOneBytePayloadIsAProtocolError) {
  EXPECT_EQ(close_answer(open(), "\x03"), close_code(1002));
}

TEST_F(WebSocketTest, CloseReasonThatIsNotUtf8IsInvalidPayload) {
  EXPECT_EQ(close_answer(open(), close_code(1000) + "\xff\xfe"), close_code(1007));
}

TEST_F(WebSocketTest, InvalidTextClosesWithInvalidPayload) {
  auto& peer = open();
  peer.send(client_frame(1, "\xc3\x28"));
  auto frames = peer.receive(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, close_code(1007));
  EXPECT_TRUE(peer.handler.messages.empty());
}

TEST_F(WebSocketTest, MessageOverTheLimitClosesWithTooBig) {
  WebSocketLimits limits;
  limits.max_message = 100;
  auto& peer = open(limits);
  peer.send(client_frame(2, std::string(100, 'a')));
  peer.send(client_frame(1, std::string(60, 'b'), false) + client_frame(0, std::string(41, 'c')));
  auto frames = peer.receive(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, close_code(1009));
  ASSERT_EQ(peer.handler.messages.size(), 1u) << "the message at the limit arrived";
}

TEST_F(WebSocketTest, FramesSentOneByteAtATimeArriveWhole) {
  auto& peer = open();
  std::string stream = client_frame(1, "Hel", false) + client_frame(9, "ping") + client_frame(0, "lo") +
                       client_frame(2, pattern(300, 3));
  for (char byte : stream) {
    peer.send(std::string_view(&byte, 1));
    context.run_for(100us);
  }
  peer.pump([&] { return peer.handler.messages.size() == 2; });
  ASSERT_EQ(peer.handler.messages.size(), 2u);
  EXPECT_EQ(peer.handler.messages[0], std::make_pair(std::string("Hello"), false));
  EXPECT_EQ(peer.handler.messages[1], std::make_pair(pattern(300, 3), true));
  auto frames = peer.receive(1);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, 10);
  EXPECT_EQ(frames[0].payload, "ping");
}

TEST_F(WebSocketTest, LargeFrameInSmallPiecesArrivesWhole) {
  auto& peer = open();
  std::string payload = pattern(200'000, 5);
  std::string frame = client_frame(1, payload);
  for (size_t pos = 0; pos < frame.size(); pos += 100) {
    peer.send(std::string_view(frame).substr(pos, 100));
    context.poll();
  }
  peer.pump([&] { return !peer.handler.messages.empty(); });
  ASSERT_EQ(peer.handler.messages.size(), 1u);
  EXPECT_TRUE(peer.handler.messages[0].first == payload);
  EXPECT_TRUE(peer.ws->is_open());
}

TEST_F(WebSocketTest, CloseGoesOutAfterQueuedMessagesThenHalfCloses) {
  auto& peer = open({}, {}, true);
  std::string big = pattern(300'000, 1);
  ASSERT_TRUE(peer.ws->send(bytes(big), false));
  context.poll();  // the socket fills up; the rest waits for it
  peer.ws->close(4000);
  EXPECT_FALSE(peer.ws->send(bytes("after close"), false));
  auto frames = peer.receive(2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_TRUE(frames[0].payload == big);
  EXPECT_EQ(frames[1].opcode, 8);
  EXPECT_EQ(frames[1].payload, close_code(4000));
  peer.pump([&] { return peer.eof; });
  EXPECT_TRUE(peer.eof) << "the server half-closes once its close frame is out";
  peer.send(client_frame(8, close_code(4000)));
  context.run_for(20ms);
  EXPECT_EQ(peer.handler.closed, 0) << "a close the handler asked for is not reported back";
}

TEST_F(WebSocketTest, FailedConnectionIsReportedAndTheLastOwnerMayLetGo) {
  auto& gone = open();
  auto& other = open();
  gone.pump([&] { return gone.received.size() >= kHandshake.size(); });
  // The client resets the connection; the server learns it from its next write or read, and the
  // handler sends elsewhere and drops its WebSocket while being told.
  std::weak_ptr<WebSocket> weak = gone.ws;
  gone.handler.on_close = [&] {
    other.ws->send(bytes("after"), false);
    gone.ws.reset();
  };
  ::linger hard{1, 0};
  ::setsockopt(gone.client.native_handle(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  gone.client.close();
  gone.ws->send(bytes("into the void"), false);
  other.ws->send(bytes("before"), false);

  auto frames = other.receive(2);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].payload, "before");
  EXPECT_EQ(frames[1].payload, "after");
  EXPECT_EQ(gone.handler.closed, 1);
  context.run_for(10ms);
  EXPECT_TRUE(weak.expired());
}

}  // namespace websocket_test
}  // namespace herald::net
