// Engine.IO v3 sessions (socket.io-client 2.x) over HTTP long-polling: one test per rule where v3
// differs from v4 (allow_eio3, the open packet, payload framing, binary forms, the heartbeat).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "engineio/payload_v3.hpp"
#include "engineio_test_server.hpp"

namespace herald::engineio {
namespace engineio_session_v3_test {

using namespace engineio_testing;  // the test server of engineio_test_server.hpp

using namespace std::string_literals;

class EngineioV3Polling : public EngineioPolling {
 protected:
  static Config v3_config() {
    Config config = default_config();
    config.allow_eio3 = true;
    return config;
  }
  void SetUp() override { start(v3_config()); }

  // Opens a v3 polling session; returns its id.
  std::string open_v3(const std::string& extra = "") {
    auto exchange = send("GET", "EIO=3&transport=polling" + extra);
    EXPECT_EQ(exchange->status(), 200) << exchange->body();
    auto decoded = decode_payload_v3(exchange->body(), false);
    EXPECT_EQ(decoded.error, "") << exchange->body();
    if (decoded.packets.empty()) return "";
    EXPECT_EQ(decoded.packets[0].type, PacketType::Open);
    return nlohmann::json::parse(decoded.packets[0].data).value("sid", "");
  }
  std::shared_ptr<FakeExchange> get3(const std::string& sid) {
    return send("GET", "EIO=3&transport=polling&sid=" + sid);
  }
  std::shared_ptr<FakeExchange> post3(const std::string& sid, std::string body, net::Headers headers = {}) {
    return send("POST", "EIO=3&transport=polling&sid=" + sid, std::move(body), std::move(headers));
  }
};

TEST_F(EngineioV3Polling, RefusedWithCode5UnlessAllowed) {
  start(default_config());
  expect_error(*send("GET", "EIO=3&transport=polling"), 5);
  EXPECT_TRUE(sessions_.empty());
}

TEST_F(EngineioV3Polling, OpenPacketIsFramedWithItsLengthAndHasNoMaxPayload) {
  auto exchange = send("GET", "EIO=3&transport=polling");
  ASSERT_EQ(exchange->status(), 200);
  const std::string& body = exchange->body();
  size_t colon = body.find(':');
  ASSERT_NE(colon, std::string::npos) << body;
  EXPECT_EQ(std::stoul(body.substr(0, colon)), body.size() - colon - 1) << body;
  auto open = nlohmann::json::parse(body.substr(colon + 2));
  EXPECT_TRUE(open.contains("sid"));
  EXPECT_TRUE(open.contains("pingInterval"));
  EXPECT_TRUE(open.contains("pingTimeout"));
  EXPECT_EQ(open["upgrades"], nlohmann::json::array({"websocket"}));
  EXPECT_FALSE(open.contains("maxPayload"));
  ASSERT_EQ(sessions_.size(), 1u);
  EXPECT_EQ(session().protocol(), Protocol::V3);
}

TEST_F(EngineioV3Polling, PacketsAreFramedWithUtf16Lengths) {
  std::string sid = open_v3("&b64=1");
  send_text(session(), "é😀");
  send_text(session(), "x");
  EXPECT_EQ(get3(sid)->body(), "4:4é😀2:4x");
}

TEST_F(EngineioV3Polling, BinaryIsBase64ForAClientThatAskedForB64) {
  std::string sid = open_v3("&b64=1");
  session().send(make_binary_packet("\x01\x02\x03"s, Protocol::V3));
  auto exchange = get3(sid);
  EXPECT_EQ(exchange->body(), "6:b4AQID");
  EXPECT_EQ(exchange->header("Content-Type"), "text/plain; charset=UTF-8");
}

TEST_F(EngineioV3Polling, BinaryUsesTheBinaryFormForAClientThatTakesBinary) {
  std::string sid = open_v3();
  send_text(session(), "a");
  session().send(make_binary_packet("\x01\x02"s));  // the v4 form works too
  auto exchange = get3(sid);
  EXPECT_EQ(exchange->body(),
            "\x00\x02\xff"
            "4a"
            "\x01\x03\xff\x04\x01\x02"s);
  EXPECT_EQ(exchange->header("Content-Type"), "application/octet-stream");
}

TEST_F(EngineioV3Polling, PostsInBothFormsReachTheHandler) {
  std::string sid = open_v3();
  EXPECT_EQ(post3(sid, "6:4hello6:b4AQID")->body(), "ok");
  EXPECT_EQ(post3(sid, "\x01\x02\xff\x04\x07"s, {{"content-type", "application/octet-stream"}})->body(), "ok");
  ASSERT_EQ(handler().messages.size(), 3u);
  EXPECT_EQ(handler().messages[0].data, "hello");
  EXPECT_TRUE(handler().messages[1].binary);
  EXPECT_EQ(handler().messages[1].data, "\x01\x02\x03"s);
  EXPECT_EQ(handler().messages[2].data, "\x07"s);
}

TEST_F(EngineioV3Polling, AMalformedPostIsRefusedAndClosesTheSession) {
  std::string sid = open_v3();
  expect_error(*post3(sid, "5:4x"), 3);
  ASSERT_EQ(handler().closes.size(), 1u);
  EXPECT_EQ(handler().closes[0], "parse error");
}

TEST_F(EngineioV3Polling, TheClientsPingIsAnsweredWithAPong) {
  std::string sid = open_v3();
  EXPECT_EQ(post3(sid, "1:2")->body(), "ok");
  EXPECT_EQ(get3(sid)->body(), "1:3");
}

TEST_F(EngineioV3Polling, APongIsTheWrongHeartbeatDirection) {
  std::string sid = open_v3();
  post3(sid, "1:3");
  ASSERT_EQ(handler().closes.size(), 1u);
  EXPECT_EQ(handler().closes[0], "transport error");
}

TEST_F(EngineioV3Polling, TheServerNeverPingsAndClosesASilentClientAfterIntervalPlusTimeout) {
  Config config = v3_config();
  config.ping_interval = 40ms;
  config.ping_timeout = 30ms;
  start(config);
  std::string sid = open_v3();
  auto poll = make("GET", "EIO=3&transport=polling&sid=" + sid);
  server().handle(poll);
  advance(70ms - 1ns);
  EXPECT_TRUE(handler().closes.empty()) << "closed before pingInterval + pingTimeout";
  EXPECT_FALSE(poll->answered()) << "the server pinged: " << poll->body();
  advance(1ns);
  ASSERT_EQ(handler().closes.size(), 1u);
  EXPECT_EQ(handler().closes[0], "ping timeout");
  EXPECT_EQ(poll->body(), "1:1") << "the pending GET ends with a close packet, never a ping";
}

TEST_F(EngineioV3Polling, PingsKeepTheSessionOpen) {
  Config config = v3_config();
  config.ping_interval = 40ms;
  config.ping_timeout = 30ms;
  start(config);
  std::string sid = open_v3();
  // A ping every 60 ms, within pingInterval + pingTimeout (70 ms), for well over 70 ms in all.
  for (int i = 0; i < 8; ++i) {
    post3(sid, "1:2");
    EXPECT_EQ(get3(sid)->body(), "1:3");
    advance(60ms);
  }
  EXPECT_TRUE(session().is_open());
  EXPECT_TRUE(handler().closes.empty());
}

}  // namespace engineio_session_v3_test
}  // namespace herald::engineio
