// Receipts of acked pushes (push/delivery.cpp's Receipt), driven through push::Service on the
// in-memory Socket.IO server of socketio_test_server.hpp (a manual clock: every wait is exact).
// Clients are logged in by `uid` in their handshake auth.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "push/service.hpp"
#include "socketio_test_server.hpp"

namespace herald::push {
namespace push_receipt_test {

using namespace std::chrono_literals;
using nlohmann::json;

// A pushed event as a client got it: its ack id and arguments.
struct Pushed {
  std::optional<uint64_t> ack_id;  // none when no ack was asked
  json args;                       // [event, msgId, message]
};

class PushReceipts : public socketio::socketio_testing::SocketioPolling {
 protected:
  // A client logged in as `uid` (none when empty) by its handshake auth.
  std::string login(const std::string& uid) { return connect(uid.empty() ? json(nullptr) : json{{"uid", uid}}); }

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

  Service service_{io_, Config{}};
  std::optional<PushResult> result;
};

TEST_F(PushReceipts, AnAckAnswersAtOnceWithTheUserAcked) {
  std::string sid = login("u1");
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
  std::string sid = login("u1");
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
  std::string phone = login("u1");
  std::string laptop = login("u1");
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
  std::string first = login("u1");
  std::string second = login("u2");
  push(to_users({"u1", "u2"}));
  ack(first, pushes_to(first).at(0));
  EXPECT_FALSE(result) << "answered with u2 still to ack";
  ack(second, pushes_to(second).at(0));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->complete);
  EXPECT_EQ(result->acked, (std::vector<std::string>{"u1", "u2"})) << "in order of arrival";
}

TEST_F(PushReceipts, AUserWhoseLastSocketClosesIsNotWaitedForAndIsKept) {
  std::string sid = login("u1");
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
  std::string sid = login("u1");
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
  std::string anonymous = login("");
  std::string sid = login("u1");
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
  std::string sid = login("u1");
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
