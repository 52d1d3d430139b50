// Receipts of acked pushes (push/delivery.cpp's Receipt), driven through push::Service on a
// one-loop pool with a manual clock. Clients are in-memory Engine.IO polling sessions speaking
// Socket.IO (logged in by `uid` in their handshake auth), so each rule of the answer is checked
// without a network, and every wait is exact: the clock moves only when a test moves it.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engineio_test_server.hpp"
#include "net/clock.hpp"
#include "net/loop_pool.hpp"
#include "push/service.hpp"
#include "socketio/server.hpp"

namespace herald::push {
namespace push_receipt_test {

using namespace std::chrono_literals;
using engineio::engineio_testing::FakeExchange;
using nlohmann::json;

// A pushed event as a client got it: its ack id and arguments.
struct Pushed {
  std::optional<uint64_t> ack_id;  // none when no ack was asked
  json args;                       // [event, msgId, message]
};

class PushReceipts : public ::testing::Test {
 protected:
  static socketio::Config io_config() {
    socketio::Config config;
    config.engine.ping_interval = 1h;  // no heartbeat in these tests
    config.engine.ping_timeout = 1h;
    return config;
  }

  // A push still waiting (a failed test) ends at its timeout, so no alarm outlives the clock.
  void TearDown() override { advance(1min); }

  // Sends a polling request through the server and runs what it posted.
  std::shared_ptr<FakeExchange> send(std::string method, const std::string& sid, std::string body = "") {
    net::HttpRequest request;
    request.method = std::move(method);
    request.path = "/socket.io/";
    request.query = "EIO=4&transport=polling" + (sid.empty() ? "" : "&sid=" + sid);
    request.target = request.path + "?" + request.query;
    request.body = std::move(body);
    request.remote_address = "127.0.0.1";
    auto exchange = std::make_shared<FakeExchange>(std::move(request));
    io_.engine().handle(exchange);
    pool_.loop(0).poll();
    return exchange;
  }

  // A client connected to the push namespace, logged in as `uid` (none when empty).
  std::string connect(const std::string& uid) {
    auto open = send("GET", "");
    auto handshake = json::parse(open->body().substr(1), nullptr, false);
    EXPECT_TRUE(open->body().starts_with("0{") && !handshake.is_discarded()) << open->body();
    std::string sid = handshake.value("sid", "");
    send("POST", sid, uid.empty() ? "40" : "40" + json{{"uid", uid}}.dump());
    auto packets = receive(sid);
    EXPECT_FALSE(packets.empty() || !packets[0].starts_with("40{")) << "no CONNECT answer for " << uid;
    return sid;
  }

  // What the server has sent `sid` since the last call (a GET that finds nothing waits, and is
  // read by the next call).
  std::vector<std::string> receive(const std::string& sid) {
    auto& waiting = parked_[sid];
    auto exchange = waiting ? waiting : send("GET", sid);
    if (!exchange->answered()) {
      waiting = exchange;
      return {};
    }
    waiting = nullptr;
    std::vector<std::string> packets;
    const std::string& body = exchange->body();
    for (size_t start = 0; start <= body.size();) {
      size_t end = body.find('\x1e', start);
      if (end == std::string::npos) end = body.size();
      packets.push_back(body.substr(start, end - start));
      start = end + 1;
    }
    return packets;
  }

  // The pushes among what `sid` received.
  std::vector<Pushed> pushes_to(const std::string& sid) {
    std::vector<Pushed> found;
    for (const auto& packet : receive(sid)) {
      if (!packet.starts_with("42")) continue;
      size_t args_at = packet.find('[');
      Pushed pushed;
      if (args_at > 2) pushed.ack_id = std::stoull(packet.substr(2, args_at - 2));
      pushed.args = json::parse(packet.substr(args_at));
      found.push_back(std::move(pushed));
    }
    return found;
  }

  void ack(const std::string& sid, const Pushed& pushed) {
    ASSERT_TRUE(pushed.ack_id) << "the push asked for no ack";
    send("POST", sid, "43" + std::to_string(*pushed.ack_id) + "[]");
  }

  // The push is started on the loop, as the HTTP API starts it; the answer lands in `result`.
  void push(PushRequest request) {
    pool_.post(0, [this, request = std::move(request)]() mutable {
      service_.push(std::move(request), [this](PushResult& answer) { result = answer; });
    });
    pool_.loop(0).poll();
  }

  static PushRequest to_users(std::vector<std::string> uids, std::chrono::milliseconds timeout = 1000ms) {
    PushRequest request;
    request.kind = PushRequest::Kind::Users;
    request.targets = std::move(uids);
    request.msg_id = "m1";
    request.message = json{{"text", "hello"}};
    request.timeout = timeout;
    return request;
  }

  void advance(std::chrono::milliseconds by) {
    clock_->advance(by);
    pool_.loop(0).poll();
  }

  std::unique_ptr<net::Clock> clock_ = net::Clock::manual();  // outlives the pool and everything on it
  net::LoopPool pool_{1, *clock_};
  socketio::Server io_{pool_, io_config()};
  Service service_{io_, Config{}};
  std::map<std::string, std::shared_ptr<FakeExchange>> parked_;
  std::optional<PushResult> result;
};

TEST_F(PushReceipts, AnAckAnswersAtOnceWithTheUserAcked) {
  std::string sid = connect("u1");
  push(to_users({"u1"}));
  auto pushes = pushes_to(sid);
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].args, json::parse(R"(["message", "m1", {"text": "hello"}])"));
  EXPECT_FALSE(result) << "answered before the ack";
  ack(sid, pushes[0]);
  ASSERT_TRUE(result) << "not answered at the ack";
  EXPECT_TRUE(result->complete);
  EXPECT_EQ(result->acked, std::vector<std::string>{"u1"});
  EXPECT_TRUE(result->timed_out.empty());
  EXPECT_TRUE(result->kept.empty()) << "an acked push is not kept";
  EXPECT_EQ(result->users_reached, 1u);
  EXPECT_EQ(result->elapsed, 0us) << "the clock did not move";
}

TEST_F(PushReceipts, AUserWhoDoesNotAckIsTimedOutAtTheTimeoutAndKept) {
  std::string sid = connect("u1");
  push(to_users({"u1"}, 1000ms));
  ASSERT_EQ(pushes_to(sid).size(), 1u);
  advance(999ms);
  EXPECT_FALSE(result) << "answered before the timeout";
  advance(1ms);
  ASSERT_TRUE(result) << "not answered at the timeout";
  EXPECT_FALSE(result->complete);
  EXPECT_TRUE(result->acked.empty());
  EXPECT_EQ(result->timed_out, std::vector<std::string>{"u1"});
  EXPECT_EQ(result->kept, std::vector<std::string>{"u1"});
  EXPECT_EQ(result->elapsed, 1000ms);
}

TEST_F(PushReceipts, AnOfflineUserIsAnsweredAtOnceAndKept) {
  push(to_users({"nobody"}));
  ASSERT_TRUE(result) << "waited for a user with no socket";
  EXPECT_EQ(result->offline, std::vector<std::string>{"nobody"});
  EXPECT_EQ(result->kept, std::vector<std::string>{"nobody"});
  EXPECT_EQ(result->users_reached, 0u);
}

TEST_F(PushReceipts, OneDevicesAckIsTheUsersReceipt) {
  std::string phone = connect("u1");
  std::string laptop = connect("u1");
  push(to_users({"u1"}));
  auto on_phone = pushes_to(phone);
  ASSERT_EQ(on_phone.size(), 1u);
  ASSERT_EQ(pushes_to(laptop).size(), 1u) << "every socket of the user is pushed to";
  ack(phone, on_phone[0]);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->complete);
  EXPECT_EQ(result->acked, std::vector<std::string>{"u1"});
  EXPECT_EQ(result->sockets_reached, 2u);
  EXPECT_EQ(result->sockets_acked, 1u);
}

TEST_F(PushReceipts, TheAnswerWaitsForEveryUserReached) {
  std::string first = connect("u1");
  std::string second = connect("u2");
  push(to_users({"u1", "u2"}));
  ack(first, pushes_to(first).at(0));
  EXPECT_FALSE(result) << "answered with u2 still to ack";
  ack(second, pushes_to(second).at(0));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->complete);
  EXPECT_EQ(result->acked, (std::vector<std::string>{"u1", "u2"})) << "in order of arrival";
}

TEST_F(PushReceipts, AUserWhoseLastSocketClosesIsNotWaitedForAndIsKept) {
  std::string sid = connect("u1");
  push(to_users({"u1"}, 5000ms));
  ASSERT_EQ(pushes_to(sid).size(), 1u);
  send("POST", sid, "1");  // the client closes its Engine.IO session without acking
  ASSERT_TRUE(result) << "waited out the timeout for a user with no socket left";
  EXPECT_FALSE(result->complete);
  EXPECT_EQ(result->timed_out, std::vector<std::string>{"u1"});
  EXPECT_EQ(result->kept, std::vector<std::string>{"u1"});
  EXPECT_EQ(result->elapsed, 0us);
}

TEST_F(PushReceipts, AnAckAfterTheAnswerChangesNothing) {
  std::string sid = connect("u1");
  push(to_users({"u1"}, 1000ms));
  auto pushes = pushes_to(sid);
  ASSERT_EQ(pushes.size(), 1u);
  advance(1000ms);
  ASSERT_TRUE(result);
  result.reset();
  ack(sid, pushes[0]);
  EXPECT_FALSE(result) << "answered twice";
}

TEST_F(PushReceipts, SocketsNotLoggedInAreNotPushedTo) {
  std::string anonymous = connect("");
  std::string sid = connect("u1");
  PushRequest request = to_users({});
  request.kind = PushRequest::Kind::All;
  push(std::move(request));
  EXPECT_TRUE(pushes_to(anonymous).empty()) << "a push to all went to a socket with no user";
  ack(sid, pushes_to(sid).at(0));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->complete);
  EXPECT_EQ(result->sockets_reached, 1u);
}

TEST_F(PushReceipts, APushWithoutAckIsAnsweredAtOnce) {
  std::string sid = connect("u1");
  PushRequest request = to_users({"u1"});
  request.ack = false;
  push(std::move(request));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->complete);
  auto pushes = pushes_to(sid);
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_FALSE(pushes[0].ack_id) << "an ack was asked";
}

}  // namespace push_receipt_test
}  // namespace herald::push
