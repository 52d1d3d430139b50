// The Engine.IO server on a one-loop pool, driven through engineio::Server::handle() with
// in-memory HTTP exchanges: the test doubles and the fixture of the session state machine tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engineio/config.hpp"
#include "engineio/packet.hpp"
#include "engineio/server.hpp"
#include "engineio/session.hpp"
#include "net/clock.hpp"
#include "net/http.hpp"
#include "net/loop_pool.hpp"

namespace herald::engineio {
namespace engineio_testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kPath = "/engine.io/";

// ---------------------------------------------------------------------------------------------
// Test doubles
// ---------------------------------------------------------------------------------------------

// One HTTP request that records its response. Lives on loop 0 of a one-loop pool, so the server
// never needs to move it; the WebSocket handshake is refused (nullptr), as polling tests need none.
class FakeExchange : public net::HttpExchange {
 public:
  explicit FakeExchange(net::HttpRequest request) : request_(std::move(request)) {}

  const net::HttpRequest& request() const override { return request_; }
  net::HttpRequest& mutable_request() { return request_; }
  size_t loop() const override { return 0; }
  void respond(net::HttpResponse response) override {
    ++responses;
    response_ = std::move(response);
  }
  void on_abort(std::function<void()> callback) override { abort_ = std::move(callback); }
  std::shared_ptr<net::WebSocket> accept_websocket(const net::WebSocketLimits&) override {
    ++websocket_accepts;
    return nullptr;
  }
  void move_to(size_t loop, std::function<void(std::shared_ptr<net::HttpExchange>)>) override {
    ADD_FAILURE() << "move_to(" << loop << ") called on a one-loop pool";
  }
  void tunnel_to(const std::string& host, uint16_t port, net::HttpResponse) override {
    ADD_FAILURE() << "tunnel_to(" << host << ":" << port << ") called without a foreign-session handler";
  }

  // The client goes away before an answer.
  void abort() {
    if (abort_ && !response_) {
      auto callback = std::move(abort_);
      abort_ = nullptr;
      callback();
    }
  }

  bool answered() const { return response_.has_value(); }
  const net::HttpResponse& response() const {
    EXPECT_TRUE(response_) << request_.method << " " << request_.target << " has no response";
    static const net::HttpResponse none{-1, {}, "(no response)"};
    return response_ ? *response_ : none;
  }
  int status() const { return response_ ? response_->status : -1; }
  const std::string& body() const { return response().body; }
  // A response header by case-insensitive name, nullopt when absent.
  std::optional<std::string> header(std::string_view name) const {
    if (!response_) return std::nullopt;
    for (const auto& [key, value] : response_->headers) {
      if (key.size() != name.size()) continue;
      bool same = true;
      for (size_t i = 0; i < key.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(key[i])) != std::tolower(static_cast<unsigned char>(name[i])))
          same = false;
      if (same) return value;
    }
    return std::nullopt;
  }

  int responses = 0;
  int websocket_accepts = 0;

 private:
  net::HttpRequest request_;
  std::optional<net::HttpResponse> response_;
  std::function<void()> abort_;
};

// What the layer above sees: messages and close reasons, in order.
class RecordingHandler : public SessionHandler {
 public:
  struct Message {
    std::string data;
    bool binary;
  };
  void on_message(std::string_view data, bool binary) override { messages.push_back({std::string(data), binary}); }
  void on_close(CloseReason reason) override { closes.emplace_back(to_string(reason)); }

  std::vector<Message> messages;
  std::vector<std::string> closes;
};

// ---------------------------------------------------------------------------------------------
// Fixture: a one-loop pool on a manual clock, an Engine.IO server on it, and every session it opens.
// ---------------------------------------------------------------------------------------------

class EngineioPolling : public ::testing::Test {
 protected:
  static Config default_config() {
    Config config;
    config.path = std::string(kPath);
    // Long enough never to fire in a test unless a test shortens them.
    config.ping_interval = 10s;
    config.ping_timeout = 10s;
    return config;
  }

  void SetUp() override { start(default_config()); }

  void TearDown() override {
    sessions_.clear();
    handlers_.clear();
    server_.reset();
  }

  void start(Config config) {
    sessions_.clear();
    handlers_.clear();
    server_ = std::make_unique<Server>(pool_, std::move(config), [this](const std::shared_ptr<Session>& session) {
      auto handler = std::make_shared<RecordingHandler>();
      session->set_handler(handler);
      sessions_.push_back(session);
      handlers_.push_back(handler);
    });
  }

  Server& server() { return *server_; }
  boost::asio::io_context& loop() { return pool_.loop(0); }

  std::shared_ptr<FakeExchange> make(std::string method, std::string query, std::string body = "",
                                     net::Headers headers = {}) {
    net::HttpRequest request;
    request.method = std::move(method);
    request.path = std::string(kPath);
    request.query = std::move(query);
    request.target = request.path + (request.query.empty() ? "" : "?" + request.query);
    request.headers = std::move(headers);
    request.body = std::move(body);
    request.remote_address = "127.0.0.1";
    return std::make_shared<FakeExchange>(std::move(request));
  }

  // Sends a request through the server and runs whatever it posted.
  std::shared_ptr<FakeExchange> send(std::string method, std::string query, std::string body = "",
                                     net::Headers headers = {}) {
    auto exchange = make(std::move(method), std::move(query), std::move(body), std::move(headers));
    server().handle(exchange);
    loop().poll();
    return exchange;
  }

  std::shared_ptr<FakeExchange> get(const std::string& sid, net::Headers headers = {}) {
    return send("GET", "EIO=4&transport=polling&sid=" + sid, "", std::move(headers));
  }
  std::shared_ptr<FakeExchange> post(const std::string& sid, std::string body, net::Headers headers = {}) {
    return send("POST", "EIO=4&transport=polling&sid=" + sid, std::move(body), std::move(headers));
  }

  // Opens a polling session; returns its id (checked against the open packet).
  std::string open() {
    size_t before = sessions_.size();
    auto exchange = send("GET", "EIO=4&transport=polling");
    EXPECT_EQ(exchange->status(), 200) << exchange->body();
    EXPECT_EQ(sessions_.size(), before + 1) << "the connection handler was not called";
    if (sessions_.size() != before + 1) return "";
    const std::string& body = exchange->body();
    EXPECT_TRUE(body.starts_with("0{")) << body;
    auto open = nlohmann::json::parse(body.substr(1), nullptr, false);
    EXPECT_FALSE(open.is_discarded()) << body;
    EXPECT_EQ(open.value("sid", ""), sessions_.back()->id());
    return sessions_.back()->id();
  }

  Session& session(size_t i = 0) { return *sessions_.at(i); }
  RecordingHandler& handler(size_t i = 0) { return *handlers_.at(i); }

  void send_text(Session& s, std::string_view text) { s.send(make_text_packet(PacketType::Message, text)); }

  // Moves the pool's clock by `by`, running the timers that come due on the way, then what they
  // posted: heartbeats and timeouts without waiting.
  void advance(std::chrono::nanoseconds by) {
    clock_->advance(by);
    loop().poll();
  }

  // Runs the loop until `done` or `limit` passes (real time); true if `done`.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      loop().run_for(1ms);
    }
    return true;
  }

  static void expect_error(const FakeExchange& exchange, int code) {
    EXPECT_EQ(exchange.status(), 400) << exchange.body();
    auto json = nlohmann::json::parse(exchange.body(), nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << exchange.body();
    EXPECT_EQ(json.value("code", -1), code) << exchange.body();
    EXPECT_TRUE(json.contains("message")) << exchange.body();
  }

  std::unique_ptr<net::Clock> clock_ = net::Clock::manual();  // outlives the pool and everything on it
  net::LoopPool pool_{1, *clock_};
  std::unique_ptr<Server> server_;
  std::vector<std::shared_ptr<Session>> sessions_;
  std::vector<std::shared_ptr<RecordingHandler>> handlers_;
};

}  // namespace engineio_testing
}  // namespace herald::engineio
