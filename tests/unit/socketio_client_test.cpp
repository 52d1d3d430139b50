// The Socket.IO client of one Engine.IO session (socketio/client.cpp), driven through the
// in-memory server of socketio_test_server.hpp: one test per rule.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "socketio_test_server.hpp"

namespace herald::socketio {
namespace socketio_client_test {

using namespace std::chrono_literals;
using socketio_testing::SocketioPolling;

// socket.io's connectTimeout: a session that joins no namespace in time is closed.
TEST_F(SocketioPolling, ASessionThatJoinsNoNamespaceIsClosedAtTheConnectTimeout) {
  std::string sid = open();
  ASSERT_EQ(io_.config().connect_timeout, 45s);
  EXPECT_TRUE(receive(sid).empty()) << "the GET waits";
  advance(45s - 1ms);
  EXPECT_TRUE(receive(sid).empty()) << "closed before the connect timeout";
  advance(1ms);
  EXPECT_EQ(receive(sid), std::vector<std::string>{"1"}) << "the waiting GET gets the close packet";
  EXPECT_EQ(io_.engine().live_sessions(), 0u);
}

TEST_F(SocketioPolling, AClientThatJoinedANamespaceOutlivesTheConnectTimeout) {
  connect();
  advance(46s);
  EXPECT_EQ(io_.engine().live_sessions(), 1u);
}

}  // namespace socketio_client_test
}  // namespace herald::socketio
