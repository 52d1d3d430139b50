// A Socket.IO server on a one-loop pool with a manual clock, and in-memory polling clients that
// speak Socket.IO to it through engineio::Server::handle(): the fixture of the unit tests that
// drive the library, and the push service on it, through their real interfaces. The clock moves
// only when a test moves it, so every wait is exact and takes no time.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "engineio_test_server.hpp"
#include "net/clock.hpp"
#include "net/loop_pool.hpp"
#include "socketio/server.hpp"

namespace herald::socketio {
namespace socketio_testing {

using namespace std::chrono_literals;
using engineio::engineio_testing::FakeExchange;

class SocketioPolling : public ::testing::Test {
 protected:
  static Config default_config() {
    Config config;
    config.engine.ping_interval = 1h;  // no heartbeat unless a test waits that long
    config.engine.ping_timeout = 1h;
    return config;
  }

  // A fixture whose tests need other settings (a recovery window, say) passes default_config()
  // with those changed.
  explicit SocketioPolling(Config config = default_config()) : io_{pool_, std::move(config)} {}

  // Whatever a failed test left waiting ends, so that no alarm outlives the clock.
  void TearDown() override { advance(1min); }

  // Sends a polling request for session `sid` (none: a handshake) and runs what it posted.
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

  // A new Engine.IO session; its id.
  std::string open() {
    auto answer = send("GET", "");
    auto handshake =
        nlohmann::json::parse(answer->body().substr(std::min<size_t>(1, answer->body().size())), nullptr, false);
    EXPECT_TRUE(answer->body().starts_with("0{") && !handshake.is_discarded()) << answer->body();
    return handshake.is_object() ? handshake.value("sid", "") : "";
  }

  // A client connected to the main namespace with `auth` (none when null); its session id.
  std::string connect(const nlohmann::json& auth = nullptr) { return connect_answered(auth).sid; }

  struct Connected {
    std::string sid;
    nlohmann::json answer;  // the CONNECT answer's payload: the socket's id, and its pid when recovery is on
  };

  // connect() for a test that reads the server's CONNECT answer.
  Connected connect_answered(const nlohmann::json& auth = nullptr) {
    std::string sid = open();
    send("POST", sid, auth.is_null() ? "40" : "40" + auth.dump());
    auto packets = receive(sid);
    bool answered = !packets.empty() && packets[0].starts_with("40{");
    EXPECT_TRUE(answered) << "no CONNECT answer for " << auth.dump();
    return {sid, answered ? nlohmann::json::parse(packets[0].substr(2), nullptr, false) : nlohmann::json()};
  }

  // The packets sent to `sid` since the last call. A GET that finds nothing waits, and the next
  // call reads it.
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

  // Moves the clock, running the timers that come due on the way and what they posted.
  void advance(std::chrono::nanoseconds by) {
    clock_->advance(by);
    pool_.loop(0).poll();
  }

  std::unique_ptr<net::Clock> clock_ = net::Clock::manual();  // outlives the pool and everything on it
  net::LoopPool pool_{1, *clock_};
  Server io_;
  std::map<std::string, std::shared_ptr<FakeExchange>> parked_;
};

}  // namespace socketio_testing
}  // namespace herald::socketio
