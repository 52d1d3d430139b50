// socketio::SocketData, the server's typed data on a socket: attached on connection and read back
// as the server's type, added to what fetchSockets reports, shared (not copied) by the reports of
// the sockets a broadcast reached, and brought back with a socket that recovers its session. Driven
// through the in-memory server of socketio_test_server.hpp, with a recovery window.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "push/user_data.hpp"
#include "socketio/server.hpp"
#include "socketio_test_server.hpp"

namespace herald::socketio {
namespace socket_data_test {

using namespace std::chrono_literals;

// What a server might keep on a socket; `report` shows it to fetchSockets.
struct Profile final : SocketData {
  explicit Profile(std::string given) : name(std::move(given)) {}
  void report(Json& data) const override { data["profile"] = name; }
  std::string name;
};

class SocketDataTest : public socketio_testing::SocketioPolling {
 protected:
  SocketDataTest() : SocketioPolling(recovering_config()) {
    io_.of("/").on_connection([this](const std::shared_ptr<Socket>& socket) {
      if (!socket->recovered()) socket->attach(SocketDataPtr(new Profile("ann")));
      sockets_.push_back(socket);
    });
  }

  // A dropped socket's session is kept, so that a test can bring its data back.
  static Config recovering_config() {
    Config config = default_config();
    config.recovery.window = 60s;
    return config;
  }

  // Runs `work` on the loop, as the server's own code runs.
  void on_loop(std::function<void()> work) {
    pool_.post(0, std::move(work));
    pool_.loop(0).poll();
  }

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
  on_loop(
      [&] { Broadcast(io_.of("/")).fetch_sockets([&](std::vector<SocketInfo>& sockets, bool) { found = sockets; }); });
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
    Broadcast(io_.of("/")).emit_with_ack("news", Json::array({"hi"}), 1s, std::move(handlers));
  });
  ASSERT_EQ(reached.size(), 1u);
  EXPECT_EQ(reached[0].attached.get(), sockets_[0]->attached().get()) << "the same object, not a copy";
  EXPECT_EQ(attached_as<Profile>(reached[0].attached)->name, "ann");
}

TEST_F(SocketDataTest, ASocketThatRecoversItsSessionHasItsDataBack) {
  auto [sid, answer] = connect_answered();
  ASSERT_EQ(sockets_.size(), 1u);
  const SocketData* attached = sockets_[0]->attached().get();
  std::string pid = answer.value("pid", "");
  ASSERT_FALSE(pid.empty()) << answer.dump();
  // The connection drops (its long poll is cut), which leaves a session to come back to.
  auto poll = send("GET", sid);
  poll->abort();
  pool_.loop(0).poll();
  ASSERT_FALSE(sockets_[0]->connected());
  EXPECT_EQ(io_.of("/").cluster_side().recovery()->sessions(), 1u);
  sockets_[0].reset();

  connect(nlohmann::json{{"pid", pid}});
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
