// socketio::SocketData, the server's typed data on a socket: attached on connection and read back
// as the server's type, added to what fetchSockets reports, shared (not copied) by the reports of
// the sockets a broadcast reached, and brought back with a socket that recovers its session. A
// Socket.IO server on a one-loop pool, driven over HTTP long-polling with in-memory exchanges.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engineio_test_server.hpp"
#include "push/user_data.hpp"
#include "socketio/server.hpp"

namespace herald::socketio {
namespace socket_data_test {

using engineio::engineio_testing::FakeExchange;
using namespace std::chrono_literals;

// What a server might keep on a socket; `report` shows it to fetchSockets.
struct Profile final : SocketData {
  explicit Profile(std::string given) : name(std::move(given)) {}
  void report(Json& data) const override { data["profile"] = name; }
  std::string name;
};

class SocketDataTest : public ::testing::Test {
 protected:
  SocketDataTest() {
    Config config;
    config.engine.ping_interval = 10s;  // no heartbeat within a test
    config.engine.ping_timeout = 10s;
    config.recovery.window = 60s;
    server_ = std::make_unique<Server>(pool_, config);
    server_->of("/").on_connection([this](const std::shared_ptr<Socket>& socket) {
      if (!socket->recovered()) socket->attach(SocketDataPtr(new Profile("ann")));
      sockets_.push_back(socket);
    });
  }

  std::shared_ptr<FakeExchange> send(std::string method, const std::string& query, std::string body = "") {
    net::HttpRequest request;
    request.method = std::move(method);
    request.path = "/socket.io/";
    request.query = "EIO=4&transport=polling" + query;
    request.target = request.path + "?" + request.query;
    request.body = std::move(body);
    request.remote_address = "127.0.0.1";
    auto exchange = std::make_shared<FakeExchange>(std::move(request));
    server_->engine().handle(exchange);
    loop().poll();
    return exchange;
  }

  // Opens a session and connects it to "/" with `connect` (the CONNECT packet's payload); returns
  // the session id and the CONNECT answer's payload.
  std::pair<std::string, Json> connect(const std::string& connect = "") {
    auto opened = send("GET", "");
    auto sid = Json::parse(opened->body().substr(1)).value("sid", "");
    send("POST", "&sid=" + sid, "40" + connect);
    auto answer = send("GET", "&sid=" + sid);
    EXPECT_TRUE(answer->body().starts_with("40{")) << answer->body();
    return {sid, Json::parse(answer->body().substr(2), nullptr, false)};
  }

  // Runs `work` on the loop, as the server's own code runs.
  void on_loop(std::function<void()> work) {
    boost::asio::post(loop(), std::move(work));
    loop().poll();
  }

  boost::asio::io_context& loop() { return pool_.loop(0); }

  std::unique_ptr<net::Clock> clock_ = net::Clock::manual();
  net::LoopPool pool_{1, *clock_};
  std::unique_ptr<Server> server_;
  std::vector<std::shared_ptr<Socket>> sockets_;
};

TEST_F(SocketDataTest, AttachedDataIsReadAsTheServersType) {
  connect();
  ASSERT_EQ(sockets_.size(), 1u);
  const Profile* profile = sockets_[0]->attached_as<Profile>();
  ASSERT_NE(profile, nullptr);
  EXPECT_EQ(profile->name, "ann");
  sockets_[0]->attach(nullptr);
  EXPECT_EQ(sockets_[0]->attached_as<Profile>(), nullptr);
}

TEST_F(SocketDataTest, FetchSocketsReportsItWithTheSocketsData) {
  connect();
  ASSERT_EQ(sockets_.size(), 1u);
  sockets_[0]->data = Json{{"k", 1}};
  std::optional<std::vector<SocketInfo>> found;
  on_loop([&] {
    Broadcast(server_->of("/")).fetch_sockets([&](std::vector<SocketInfo>& sockets, bool) { found = sockets; });
  });
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].data, (Json{{"k", 1}, {"profile", "ann"}}));
  EXPECT_EQ((*found)[0].attached, sockets_[0]->attached());
  EXPECT_EQ(sockets_[0]->data, (Json{{"k", 1}})) << "the report is a copy";
}

TEST_F(SocketDataTest, ReachReportsShareTheSocketsData) {
  connect();
  ASSERT_EQ(sockets_.size(), 1u);
  std::vector<SocketInfo> reached;
  on_loop([&] {
    BroadcastAckHandlers handlers;
    handlers.on_reached = [&](const std::vector<SocketInfo>& sockets) { reached = sockets; };
    Broadcast(server_->of("/")).emit_with_ack("news", Json::array({"hi"}), 1s, std::move(handlers));
  });
  ASSERT_EQ(reached.size(), 1u);
  EXPECT_EQ(reached[0].attached.get(), sockets_[0]->attached().get()) << "the same object, not a copy";
  EXPECT_EQ(attached_as<Profile>(reached[0].attached)->name, "ann");
}

TEST_F(SocketDataTest, ASocketThatRecoversItsSessionHasItsDataBack) {
  auto [sid, answer] = connect();
  ASSERT_EQ(sockets_.size(), 1u);
  const SocketData* attached = sockets_[0]->attached().get();
  std::string pid = answer.value("pid", "");
  ASSERT_FALSE(pid.empty()) << answer.dump();
  // The connection drops (its long poll is cut), which leaves a session to come back to.
  auto poll = send("GET", "&sid=" + sid);
  poll->abort();
  loop().poll();
  ASSERT_FALSE(sockets_[0]->connected());
  EXPECT_EQ(server_->of("/").cluster_side().recovery()->sessions(), 1u);
  sockets_[0].reset();

  connect(Json{{"pid", pid}}.dump());
  ASSERT_EQ(sockets_.size(), 2u);
  EXPECT_TRUE(sockets_[1]->recovered());
  EXPECT_EQ(sockets_[1]->attached().get(), attached) << "kept with the session, not rebuilt";
  ASSERT_NE(sockets_[1]->attached_as<Profile>(), nullptr);
  EXPECT_EQ(sockets_[1]->attached_as<Profile>()->name, "ann");
}

TEST(PushUserData, ALoginIsOneBlockReadAndReportedAsBefore) {
  EXPECT_EQ(push::UserData::make("", 7), nullptr) << "no user, nothing attached";
  auto user = push::UserData::make("user-with-a-long-id-0123456789", 42);
  EXPECT_EQ(user->uid(), "user-with-a-long-id-0123456789");
  EXPECT_EQ(user->seq(), 42u);
  SocketInfo reached{"s1", user, nullptr};
  EXPECT_EQ(push::user_of(reached), "user-with-a-long-id-0123456789");
  EXPECT_EQ(push::user_of(SocketInfo{"s2", nullptr, nullptr}), "");
  Json data = Json{{"k", 1}};
  user->report(data);
  EXPECT_EQ(data, (Json{{"k", 1}, {"uid", "user-with-a-long-id-0123456789"}, {"seq", 42}}));
  // The id follows the object in its allocation: 24 bytes and the id's characters.
  EXPECT_EQ(sizeof(push::UserData), 24u);
}

}  // namespace socket_data_test
}  // namespace herald::socketio
