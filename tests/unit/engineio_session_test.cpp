// Engine.IO session state machine over HTTP long-polling, driven through engineio::Server::handle()
// with an in-memory HttpExchange on a one-loop LoopPool: one test per protocol rule. Also the
// session ids (engineio/sid.hpp).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engineio/config.hpp"
#include "engineio/packet.hpp"
#include "engineio/server.hpp"
#include "engineio/session.hpp"
#include "engineio/sid.hpp"
#include "engineio_test_server.hpp"
#include "net/http.hpp"
#include "net/loop_pool.hpp"
#include "net/transport_counters.hpp"

namespace herald::engineio {
namespace engineio_session_test {

using namespace engineio_testing;  // the test server of engineio_test_server.hpp

std::vector<std::string> split_payload(const std::string& body) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = body.find(kRecordSeparator, start);
    parts.push_back(body.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

// --- handshake ---

TEST_F(EngineioPolling, HandshakeAnswersAnOpenPacketWithSidTimingsAndUpgrades) {
  Config config = default_config();
  config.ping_interval = 1234ms;
  config.ping_timeout = 567ms;
  config.max_payload = 4321;
  config.process_tag = 0xa1b2c3d4;
  start(config);
  auto exchange = send("GET", "EIO=4&transport=polling");
  ASSERT_EQ(exchange->status(), 200);
  ASSERT_EQ(exchange->responses, 1);
  const std::string& body = exchange->body();
  ASSERT_TRUE(body.starts_with("0{")) << body;
  EXPECT_EQ(body.find(kRecordSeparator), std::string::npos) << "the open packet comes alone: " << body;
  auto open = nlohmann::json::parse(body.substr(1));
  ASSERT_TRUE(open["sid"].is_string());
  std::string sid = open["sid"];
  EXPECT_EQ(sid.size(), 20u);
  auto route = parse_sid(sid);
  ASSERT_TRUE(route);
  EXPECT_EQ(route->process, 0xa1b2c3d4u);
  EXPECT_EQ(route->loop, 0);
  EXPECT_EQ(open["upgrades"], nlohmann::json::array({"websocket"}));
  EXPECT_EQ(open["pingInterval"], 1234);
  EXPECT_EQ(open["pingTimeout"], 567);
  EXPECT_EQ(open["maxPayload"], 4321);
  ASSERT_EQ(sessions_.size(), 1u);
  EXPECT_EQ(session().id(), sid);
  EXPECT_EQ(session().transport(), TransportKind::Polling);
  EXPECT_TRUE(session().is_open());
  EXPECT_EQ(server().session_count(0), 1u);
  EXPECT_EQ(server().live_sessions(), 1u);
}

TEST_F(EngineioPolling, HandshakeOffersNoUpgradeWhenUpgradesOrWebSocketAreOff) {
  for (int variant = 0; variant < 2; ++variant) {
    Config config = default_config();
    if (variant == 0) config.allow_upgrades = false;
    if (variant == 1) config.allow_websocket = false;
    start(config);
    auto exchange = send("GET", "EIO=4&transport=polling");
    ASSERT_EQ(exchange->status(), 200) << variant;
    auto open = nlohmann::json::parse(exchange->body().substr(1));
    EXPECT_EQ(open["upgrades"], nlohmann::json::array()) << variant;
  }
}

TEST_F(EngineioPolling, EachHandshakeGetsItsOwnSid) {
  std::set<std::string> sids;
  for (int i = 0; i < 5; ++i) sids.insert(open());
  EXPECT_EQ(sids.size(), 5u);
  EXPECT_EQ(server().session_count(0), 5u);
}

// --- refused requests ---

TEST_F(EngineioPolling, MissingOrOldEioIsRefusedWithCode5) {
  expect_error(*send("GET", "transport=polling"), 5);
  expect_error(*send("GET", "EIO=3&transport=polling"), 5);
  expect_error(*send("GET", "EIO=5&transport=polling"), 5);
  EXPECT_TRUE(sessions_.empty());
  EXPECT_EQ(server().session_count(0), 0u);
}

TEST_F(EngineioPolling, UnknownOrMissingTransportIsRefusedWithCode0) {
  expect_error(*send("GET", "EIO=4&transport=flashsocket"), 0);
  expect_error(*send("GET", "EIO=4"), 0);
  expect_error(*send("GET", "EIO=4&transport=Polling"), 0);
  EXPECT_TRUE(sessions_.empty());
}

TEST_F(EngineioPolling, DisabledPollingTransportIsRefusedWithCode0) {
  Config config = default_config();
  config.allow_polling = false;
  start(config);
  expect_error(*send("GET", "EIO=4&transport=polling"), 0);
  EXPECT_TRUE(sessions_.empty());
}

TEST_F(EngineioPolling, PostWithoutSidIsRefusedWithCode2) {
  auto exchange = send("POST", "EIO=4&transport=polling", "4hello");
  expect_error(*exchange, 2);
  EXPECT_TRUE(sessions_.empty());
  EXPECT_EQ(server().session_count(0), 0u);
}

TEST_F(EngineioPolling, WebSocketHandshakeWithoutUpgradeHeaderIsRefusedWithCode3) {
  auto exchange = send("GET", "EIO=4&transport=websocket");
  expect_error(*exchange, 3);
  EXPECT_EQ(exchange->websocket_accepts, 0);
  EXPECT_TRUE(sessions_.empty());
}

TEST_F(EngineioPolling, UnknownSidIsRefusedWithCode1) {
  std::string sid = open();
  // Well-formed for this process and loop, but no such session.
  std::string other = make_sid(SidRoute{0, 0});
  ASSERT_NE(other, sid);
  expect_error(*get(other), 1);
  expect_error(*post(other, "4x"), 1);
  // Malformed ids.
  expect_error(*get("nope"), 1);
  expect_error(*get(""), 1);
  expect_error(*get(sid + "A"), 1);
  // The real session is unaffected.
  EXPECT_TRUE(session().is_open());
  EXPECT_TRUE(handler().closes.empty());
}

TEST_F(EngineioPolling, SidOfAnotherProcessOrLoopIsRefusedWithCode1) {
  Config config = default_config();
  config.process_tag = 77;
  start(config);
  std::string sid = open();
  auto route = parse_sid(sid);
  ASSERT_TRUE(route);
  EXPECT_EQ(route->process, 77u);
  // Another process's id, no foreign-session handler set (FakeExchange::move_to and tunnel_to
  // fail the test if the server tries to hand the request over).
  expect_error(*get(make_sid(SidRoute{78, 0})), 1);
  expect_error(*get(make_sid(SidRoute{0, 0})), 1);
  // A loop this pool does not have.
  expect_error(*get(make_sid(SidRoute{77, 1})), 1);
  expect_error(*post(make_sid(SidRoute{77, 255}), "4x"), 1);
  EXPECT_TRUE(session().is_open());
}

TEST_F(EngineioPolling, SidOfAnotherProcessGoesToTheForeignSessionHandlerWhenSet) {
  Config config = default_config();
  config.process_tag = 77;
  start(config);
  std::vector<uint32_t> foreign;
  server().on_foreign_session(
      [&](const std::shared_ptr<net::HttpExchange>&, uint32_t process) { foreign.push_back(process); });
  std::string sid = open();
  auto exchange = get(make_sid(SidRoute{78, 0}));
  EXPECT_FALSE(exchange->answered()) << "the foreign handler owns the request: " << exchange->body();
  EXPECT_EQ(foreign, std::vector<uint32_t>{78});
  // This process's own sessions, known or not, are not foreign.
  EXPECT_FALSE(get(sid)->answered());
  expect_error(*get(make_sid(SidRoute{77, 0})), 1);
  expect_error(*get(make_sid(SidRoute{77, 1})), 1);
  expect_error(*get("malformed"), 1);
  EXPECT_EQ(foreign, std::vector<uint32_t>{78});
}

TEST_F(EngineioPolling, UnsupportedMethodOnASessionIsRefusedWithCode3) {
  std::string sid = open();
  expect_error(*send("PUT", "EIO=4&transport=polling&sid=" + sid, "4x"), 3);
  EXPECT_TRUE(handler().messages.empty());
}

// --- GET ---

TEST_F(EngineioPolling, GetReturnsBufferedPacketsJoinedByRecordSeparator) {
  std::string sid = open();
  send_text(session(), "one");
  send_text(session(), "two");
  session().send(make_binary_packet(std::string("\x01\x02\xff", 3)));
  send_text(session(), "three");
  auto exchange = get(sid);
  ASSERT_EQ(exchange->status(), 200);
  EXPECT_EQ(exchange->body(),
            "4one\x1e"
            "4two\x1e"
            "bAQL/\x1e"
            "4three");
  // Nothing is sent twice.
  auto next = get(sid);
  EXPECT_FALSE(next->answered()) << next->body();
}

TEST_F(EngineioPolling, GetWaitsUntilSomethingIsSentThenAnswers) {
  std::string sid = open();
  auto exchange = get(sid);
  EXPECT_FALSE(exchange->answered()) << "an empty session answered at once: " << exchange->body();
  loop().run_for(10ms);
  EXPECT_FALSE(exchange->answered()) << exchange->body();
  send_text(session(), "hello");
  send_text(session(), "world");
  loop().poll();
  ASSERT_TRUE(exchange->answered());
  EXPECT_EQ(exchange->status(), 200);
  // Everything sent in one loop turn goes out in one response.
  EXPECT_EQ(exchange->body(),
            "4hello\x1e"
            "4world");
  EXPECT_EQ(exchange->responses, 1);
}

TEST_F(EngineioPolling, OverlappingGetIsRefusedAndClosesTheSession) {
  std::string sid = open();
  auto first = get(sid);
  ASSERT_FALSE(first->answered());
  auto second = get(sid);
  expect_error(*second, 3);
  ASSERT_TRUE(first->answered());
  EXPECT_EQ(first->status(), 200);
  EXPECT_EQ(first->body(), "1");
  EXPECT_EQ(handler().closes, std::vector<std::string>{"transport error"});
  EXPECT_FALSE(session().is_open());
  EXPECT_EQ(server().session_count(0), 0u);
  EXPECT_EQ(server().live_sessions(), 0u);
  expect_error(*get(sid), 1);
}

TEST_F(EngineioPolling, AbortedGetClosesTheSession) {
  std::string sid = open();
  auto exchange = get(sid);
  ASSERT_FALSE(exchange->answered());
  exchange->abort();
  loop().poll();
  EXPECT_EQ(handler().closes, std::vector<std::string>{"transport close"});
  EXPECT_EQ(server().session_count(0), 0u);
  expect_error(*get(sid), 1);
}

// --- POST ---

TEST_F(EngineioPolling, HandlerReceivesTextAndBinaryMessagesInOrder) {
  std::string sid = open();
  auto first = post(sid,
                    "4hello\x1e"
                    "bAAEC/w==\x1e"
                    "4");
  EXPECT_EQ(first->status(), 200);
  EXPECT_EQ(first->body(), "ok");
  auto second = post(sid,
                     "4wörld\x1e"
                     "6\x1e"
                     "4last");
  EXPECT_EQ(second->status(), 200);
  ASSERT_EQ(handler().messages.size(), 5u);
  EXPECT_EQ(handler().messages[0].data, "hello");
  EXPECT_FALSE(handler().messages[0].binary);
  EXPECT_EQ(handler().messages[1].data, std::string("\x00\x01\x02\xff", 4));
  EXPECT_TRUE(handler().messages[1].binary);
  EXPECT_EQ(handler().messages[2].data, "");
  EXPECT_FALSE(handler().messages[2].binary);
  EXPECT_EQ(handler().messages[3].data, "wörld");
  EXPECT_EQ(handler().messages[4].data, "last");
  EXPECT_TRUE(handler().closes.empty());
  EXPECT_TRUE(session().is_open());
}

TEST_F(EngineioPolling, PostedCloseAnswersThePendingGetWithNoopAndRemovesTheSession) {
  std::string sid = open();
  auto poll = get(sid);
  ASSERT_FALSE(poll->answered());
  auto closing = post(sid, "1");
  EXPECT_EQ(closing->status(), 200);
  ASSERT_TRUE(poll->answered());
  EXPECT_EQ(poll->status(), 200);
  EXPECT_EQ(poll->body(), "6");
  EXPECT_EQ(handler().closes, std::vector<std::string>{"transport close"});
  EXPECT_EQ(server().session_count(0), 0u);
  EXPECT_EQ(server().live_sessions(), 0u);
  expect_error(*get(sid), 1);
}

// The library counts into the counters the application gives it (net/transport_counters.hpp).
TEST_F(EngineioPolling, SessionsAreCountedInTheCountersTheApplicationGives) {
  net::TransportCounters counters;
  net::TransportCounters& before = net::transport_counters();
  net::count_transport_into(counters);
  std::string sid = open();
  EXPECT_EQ(counters.sessions_opened.load(), 1u);
  EXPECT_EQ(counters.polling_sessions.load(), 1u);
  post(sid, "1");
  EXPECT_EQ(counters.polling_sessions.load(), 0u);
  EXPECT_EQ(counters.sessions_opened.load(), 1u);
  net::count_transport_into(before);
  open();
  EXPECT_EQ(counters.sessions_opened.load(), 1u) << "counted where the application pointed it since";
}

TEST_F(EngineioPolling, PacketsAfterAPostedCloseAreIgnored) {
  std::string sid = open();
  post(sid,
       "4before\x1e"
       "1\x1e"
       "4after");
  ASSERT_EQ(handler().messages.size(), 1u);
  EXPECT_EQ(handler().messages[0].data, "before");
  EXPECT_EQ(handler().closes, std::vector<std::string>{"transport close"});
  EXPECT_EQ(server().session_count(0), 0u);
}

TEST_F(EngineioPolling, InvalidPostBodyIsRefusedAndRemovesTheSession) {
  const std::vector<std::string> bodies = {"9x", "", "4ok\x1e", "bnot base64!", "hello"};
  for (const auto& body : bodies) {
    size_t index = sessions_.size();
    std::string sid = open();
    auto exchange = post(sid, body);
    EXPECT_EQ(exchange->status(), 400) << "body " << testing::PrintToString(body);
    EXPECT_TRUE(handler(index).messages.empty()) << testing::PrintToString(body);
    EXPECT_EQ(handler(index).closes, std::vector<std::string>{"parse error"}) << testing::PrintToString(body);
    expect_error(*get(sid), 1);
  }
  EXPECT_EQ(server().session_count(0), 0u);
}

TEST_F(EngineioPolling, BodyTooLargeAnswers413AndRemovesTheSession) {
  std::string sid = open();
  auto exchange = make("POST", "EIO=4&transport=polling&sid=" + sid);
  exchange->mutable_request().body_too_large = true;
  server().handle(exchange);
  loop().poll();
  EXPECT_EQ(exchange->status(), 413);
  EXPECT_TRUE(handler().messages.empty());
  EXPECT_EQ(handler().closes, std::vector<std::string>{"transport error"});
  EXPECT_EQ(server().session_count(0), 0u);
  expect_error(*get(sid), 1);
}

// --- heartbeat ---

TEST_F(EngineioPolling, PingIsSentAfterPingInterval) {
  Config config = default_config();
  config.ping_interval = 20ms;
  config.ping_timeout = 500ms;
  start(config);
  std::string sid = open();
  auto poll = get(sid);
  EXPECT_FALSE(poll->answered()) << "pinged at once: " << poll->body();
  advance(20ms - 1ns);
  EXPECT_FALSE(poll->answered()) << "pinged before pingInterval: " << poll->body();
  advance(1ns);
  ASSERT_TRUE(poll->answered()) << "no ping at pingInterval";
  EXPECT_EQ(poll->body(), "2");
  EXPECT_TRUE(handler().closes.empty());
}

TEST_F(EngineioPolling, NoPongWithinPingTimeoutClosesWithPingTimeout) {
  Config config = default_config();
  config.ping_interval = 20ms;
  config.ping_timeout = 20ms;
  start(config);
  std::string sid = open();
  advance(40ms - 1ns);
  EXPECT_TRUE(handler().closes.empty()) << "closed before pingInterval + pingTimeout";
  advance(1ns);
  EXPECT_EQ(handler().closes, std::vector<std::string>{"ping timeout"});
  EXPECT_FALSE(session().is_open());
  EXPECT_EQ(server().session_count(0), 0u);
  expect_error(*get(sid), 1);
}

TEST_F(EngineioPolling, PingTimeoutAnswersAPendingGetWithClose) {
  Config config = default_config();
  config.ping_interval = 20ms;
  config.ping_timeout = 20ms;
  start(config);
  std::string sid = open();
  auto ping = get(sid);
  advance(20ms);
  ASSERT_TRUE(ping->answered());
  EXPECT_EQ(ping->body(), "2");
  auto poll = get(sid);  // the client polls again but never answers the ping
  EXPECT_FALSE(poll->answered()) << poll->body();
  advance(20ms);
  ASSERT_TRUE(poll->answered());
  EXPECT_EQ(poll->body(), "1");
  EXPECT_EQ(handler().closes, std::vector<std::string>{"ping timeout"});
  EXPECT_EQ(server().session_count(0), 0u);
}

TEST_F(EngineioPolling, PongResetsTheHeartbeat) {
  Config config = default_config();
  config.ping_interval = 20ms;
  config.ping_timeout = 30ms;
  start(config);
  std::string sid = open();
  // Each pong comes late in pingTimeout; over five rounds far more than pingInterval + pingTimeout pass.
  for (int round = 0; round < 5; ++round) {
    auto poll = get(sid);
    advance(20ms);
    ASSERT_TRUE(poll->answered()) << "no ping in round " << round;
    ASSERT_EQ(poll->body(), "2") << "round " << round;
    advance(30ms - 1ns);
    ASSERT_EQ(post(sid, "3")->status(), 200);
  }
  EXPECT_TRUE(handler().closes.empty()) << handler().closes.front();
  EXPECT_TRUE(session().is_open());
  EXPECT_EQ(server().session_count(0), 1u);
  advance(20ms);  // the next ping; then no pong
  advance(30ms);
  EXPECT_EQ(handler().closes, std::vector<std::string>{"ping timeout"});
}

// --- server-side close ---

TEST_F(EngineioPolling, CloseWithoutPendingGetDeliversCloseOnTheNextGetThenForgetsTheSession) {
  std::string sid = open();
  session().close(CloseReason::ForcedClose);
  EXPECT_EQ(handler().closes, std::vector<std::string>{"forced close"});
  EXPECT_FALSE(session().is_open());
  // Still reachable: the close packet has not been fetched.
  EXPECT_EQ(server().session_count(0), 1u);
  // A POST to a closing session is refused.
  expect_error(*post(sid, "4late"), 1);
  EXPECT_TRUE(handler().messages.empty());
  auto poll = get(sid);
  ASSERT_TRUE(poll->answered());
  EXPECT_EQ(poll->status(), 200);
  EXPECT_EQ(poll->body(), "1");
  EXPECT_EQ(server().session_count(0), 0u);
  EXPECT_EQ(server().live_sessions(), 0u);
  expect_error(*get(sid), 1);
  EXPECT_EQ(handler().closes.size(), 1u);
}

TEST_F(EngineioPolling, CloseWithPendingGetAnswersItWithClose) {
  std::string sid = open();
  auto poll = get(sid);
  ASSERT_FALSE(poll->answered());
  send_text(session(), "last words");
  session().close(CloseReason::ForcedClose);
  loop().poll();
  ASSERT_TRUE(poll->answered());
  EXPECT_EQ(poll->body(),
            "4last words\x1e"
            "1");
  EXPECT_EQ(handler().closes, std::vector<std::string>{"forced close"});
  EXPECT_EQ(server().session_count(0), 0u);
  expect_error(*get(sid), 1);
}

TEST_F(EngineioPolling, CloseAllClosesEverySession) {
  std::string a = open();
  std::string b = open();
  server().close_all(CloseReason::ServerShuttingDown);
  loop().poll();
  EXPECT_EQ(handler(0).closes, std::vector<std::string>{"server shutting down"});
  EXPECT_EQ(handler(1).closes, std::vector<std::string>{"server shutting down"});
  EXPECT_EQ(get(a)->body(), "1");
  EXPECT_EQ(get(b)->body(), "1");
  EXPECT_EQ(server().live_sessions(), 0u);
}

TEST_F(EngineioPolling, SendAfterCloseIsDropped) {
  std::string sid = open();
  session().close(CloseReason::ForcedClose);
  send_text(session(), "too late");
  EXPECT_EQ(get(sid)->body(), "1");
}

// --- flow control ---

TEST_F(EngineioPolling, MaxPayloadSplitsALargeBacklogAcrossSeveralGets) {
  Config config = default_config();
  config.max_payload = 64;
  start(config);
  std::string sid = open();
  std::vector<std::string> sent;
  for (int i = 0; i < 10; ++i) {
    std::string text = "message-" + std::to_string(i) + std::string(11, 'x');  // 20 bytes, 21 with the type
    ASSERT_EQ(text.size(), 20u);
    sent.push_back("4" + text);
    send_text(session(), text);
  }
  std::vector<std::string> received;
  int gets = 0;
  while (received.size() < sent.size() && gets < 20) {
    auto poll = get(sid);
    ASSERT_TRUE(poll->answered()) << "GET " << gets << " not answered with " << received.size() << " received";
    ++gets;
    EXPECT_LE(poll->body().size(), 64u) << poll->body();
    for (auto& part : split_payload(poll->body())) received.push_back(part);
  }
  EXPECT_EQ(received, sent);
  EXPECT_EQ(gets, 5) << "two 21-byte packets fit in 64 bytes, three do not";
  EXPECT_FALSE(get(sid)->answered());
}

TEST_F(EngineioPolling, APacketLargerThanMaxPayloadStillGoesOutAlone) {
  Config config = default_config();
  config.max_payload = 10;
  start(config);
  std::string sid = open();
  send_text(session(), std::string(30, 'y'));
  send_text(session(), "small");
  EXPECT_EQ(get(sid)->body(), "4" + std::string(30, 'y'));
  EXPECT_EQ(get(sid)->body(), "4small");
}

TEST_F(EngineioPolling, SlowClientPastMaxBufferedBytesIsClosedWithTransportError) {
  Config config = default_config();
  config.max_buffered_bytes = 1000;
  start(config);
  std::string sid = open();
  const std::string chunk(100, 'z');  // 101 bytes per packet
  for (int i = 0; i < 9; ++i) send_text(session(), chunk);
  loop().poll();
  EXPECT_TRUE(session().is_open()) << "closed at 909 unsent bytes";
  EXPECT_TRUE(handler().closes.empty());
  send_text(session(), chunk);  // 1010 > 1000
  loop().poll();
  EXPECT_EQ(handler().closes, std::vector<std::string>{"transport error"});
  EXPECT_FALSE(session().is_open());
  EXPECT_EQ(server().session_count(0), 0u);
  expect_error(*get(sid), 1);
}

TEST_F(EngineioPolling, FetchedPacketsNoLongerCountAsUnsent) {
  Config config = default_config();
  config.max_buffered_bytes = 1000;
  start(config);
  std::string sid = open();
  const std::string chunk(100, 'z');
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 5; ++i) send_text(session(), chunk);  // 505 bytes per round
    auto poll = get(sid);
    ASSERT_TRUE(poll->answered());
    EXPECT_EQ(split_payload(poll->body()).size(), 5u);
  }
  EXPECT_TRUE(session().is_open());
  EXPECT_TRUE(handler().closes.empty());
}

// --- CORS ---

TEST_F(EngineioPolling, CorsHeadersOnlyForAllowedOrigins) {
  Config config = default_config();
  config.cors_origins = {"https://allowed.example"};
  start(config);
  auto allowed = send("GET", "EIO=4&transport=polling", "", {{"origin", "https://allowed.example"}});
  ASSERT_EQ(allowed->status(), 200);
  EXPECT_EQ(allowed->header("Access-Control-Allow-Origin"), "https://allowed.example");
  EXPECT_EQ(allowed->header("Access-Control-Allow-Credentials"), "true");
  std::string sid = sessions_.back()->id();

  auto other = send("GET", "EIO=4&transport=polling", "", {{"origin", "https://evil.example"}});
  ASSERT_EQ(other->status(), 200);
  EXPECT_EQ(other->header("Access-Control-Allow-Origin"), std::nullopt);
  EXPECT_EQ(other->header("Access-Control-Allow-Credentials"), std::nullopt);

  auto no_origin = send("GET", "EIO=4&transport=polling");
  EXPECT_EQ(no_origin->header("Access-Control-Allow-Origin"), std::nullopt);

  // Polls, posts and errors carry them too.
  auto posted = post(sid, "4x", {{"origin", "https://allowed.example"}});
  EXPECT_EQ(posted->header("Access-Control-Allow-Origin"), "https://allowed.example");
  send_text(session(0), "y");
  auto polled = get(sid, {{"origin", "https://allowed.example"}});
  EXPECT_EQ(polled->body(), "4y");
  EXPECT_EQ(polled->header("Access-Control-Allow-Origin"), "https://allowed.example");
  auto refused = send("GET", "EIO=3&transport=polling", "", {{"origin", "https://allowed.example"}});
  EXPECT_EQ(refused->status(), 400);
  EXPECT_EQ(refused->header("Access-Control-Allow-Origin"), "https://allowed.example");
}

TEST_F(EngineioPolling, CorsWildcardAllowsAnyOriginWithoutCredentials) {
  Config config = default_config();
  config.cors_origins = {"*"};
  start(config);
  auto exchange = send("GET", "EIO=4&transport=polling", "", {{"origin", "https://any.example"}});
  EXPECT_EQ(exchange->header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(exchange->header("Access-Control-Allow-Credentials"), std::nullopt);
}

TEST_F(EngineioPolling, NoCorsHeadersWithoutCorsOrigins) {
  auto exchange = send("GET", "EIO=4&transport=polling", "", {{"origin", "https://any.example"}});
  ASSERT_EQ(exchange->status(), 200);
  EXPECT_EQ(exchange->header("Access-Control-Allow-Origin"), std::nullopt);
}

TEST_F(EngineioPolling, OptionsPreflightAnswers204WithoutOpeningASession) {
  Config config = default_config();
  config.cors_origins = {"https://allowed.example"};
  start(config);
  auto preflight = send("OPTIONS", "EIO=4&transport=polling", "",
                        {{"origin", "https://allowed.example"},
                         {"access-control-request-method", "POST"},
                         {"access-control-request-headers", "content-type, x-token"}});
  EXPECT_EQ(preflight->status(), 204);
  EXPECT_EQ(preflight->body(), "");
  EXPECT_EQ(preflight->header("Access-Control-Allow-Origin"), "https://allowed.example");
  auto methods = preflight->header("Access-Control-Allow-Methods");
  ASSERT_TRUE(methods);
  EXPECT_NE(methods->find("POST"), std::string::npos) << *methods;
  EXPECT_NE(methods->find("GET"), std::string::npos) << *methods;
  EXPECT_EQ(preflight->header("Access-Control-Allow-Headers"), "content-type, x-token");
  EXPECT_TRUE(sessions_.empty());
  EXPECT_EQ(server().session_count(0), 0u);

  auto disallowed = send("OPTIONS", "EIO=4&transport=polling", "", {{"origin", "https://evil.example"}});
  EXPECT_EQ(disallowed->status(), 204);
  EXPECT_EQ(disallowed->header("Access-Control-Allow-Origin"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Session ids
// ---------------------------------------------------------------------------------------------

bool url_safe(std::string_view text) {
  for (char c : text)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  return true;
}

TEST(EngineioSid, RoundTripKeepsProcessAndLoop) {
  const std::vector<SidRoute> routes = {
      {0, 0}, {1, 1}, {0xffffffffu, 255}, {0x12345678u, 7}, {0x80000000u, 128}, {0x000000ffu, 0}, {0xdeadbeefu, 42}};
  for (const auto& route : routes) {
    for (int i = 0; i < 50; ++i) {
      std::string sid = make_sid(route);
      auto parsed = parse_sid(sid);
      ASSERT_TRUE(parsed) << sid;
      EXPECT_EQ(parsed->process, route.process) << sid;
      EXPECT_EQ(parsed->loop, route.loop) << sid;
    }
  }
}

TEST(EngineioSid, IsTwentyUrlSafeCharacters) {
  // Enough ids that '+' and '/' would show up if they were not replaced.
  for (int i = 0; i < 500; ++i) {
    std::string sid = make_sid(SidRoute{0xfbfffbffu, 0xff});
    EXPECT_EQ(sid.size(), 20u) << sid;
    EXPECT_TRUE(url_safe(sid)) << sid;
  }
}

TEST(EngineioSid, RandomPartDiffers) {
  std::set<std::string> sids;
  std::set<std::string> random_parts;
  for (int i = 0; i < 200; ++i) {
    std::string sid = make_sid(SidRoute{5, 3});
    sids.insert(sid);
    random_parts.insert(sid.substr(8));  // past the 5 route bytes (the first 7 characters)
  }
  EXPECT_EQ(sids.size(), 200u);
  EXPECT_EQ(random_parts.size(), 200u);
}

TEST(EngineioSid, MalformedIdsAreRefused) {
  std::string good = make_sid(SidRoute{9, 2});
  ASSERT_TRUE(parse_sid(good));
  EXPECT_FALSE(parse_sid(""));
  EXPECT_FALSE(parse_sid(good.substr(0, 19)));
  EXPECT_FALSE(parse_sid(good + "A"));
  EXPECT_FALSE(parse_sid(std::string(40, 'A')));
  // Standard base64 characters that the URL-safe alphabet replaces.
  for (char bad : {'+', '/', '=', '!', ' ', '.', '%', '\0', '\x80'}) {
    std::string sid = good;
    sid[10] = bad;
    EXPECT_FALSE(parse_sid(sid)) << "character " << static_cast<int>(static_cast<unsigned char>(bad));
  }
  // Padded base64 of fewer bytes.
  EXPECT_FALSE(parse_sid("AAAAAAAAAAAAAAAAAA=="));
  EXPECT_FALSE(parse_sid("AAAAAAAAAAAAAAAAAAA="));
}

TEST(EngineioSid, RandomIdIsTwentyUrlSafeCharactersAndDiffers) {
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    std::string id = random_id();
    EXPECT_EQ(id.size(), 20u);
    EXPECT_TRUE(url_safe(id)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 200u);
}

}  // namespace engineio_session_test
}  // namespace herald::engineio
