// net::forward_request's one retry. A pooled keep-alive connection the owner closes just as a
// request goes out on it answered nothing, so nothing was done: the request goes again, once, on
// a new connection. A connection that answered part of a response, or a new connection, is not
// retried: the request may have been acted on. The owner here is a real TCP peer on loopback that
// follows a script per request, since a real server cannot be made to close at that instant.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/forward.hpp"

namespace herald::net {
namespace forward_retry_test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class ScriptedOwner {
 public:
  enum class Then { Answer, CloseSilently, AnswerPartlyAndClose };

  ScriptedOwner(asio::io_context& loop, std::vector<Then> script)
      : acceptor_(loop, tcp::endpoint(asio::ip::address_v4::loopback(), 0)), script_(std::move(script)) {
    accept();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  int connections = 0;
  int requests = 0;

 private:
  struct Connection {
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::string buffer;
  };

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec) return;
      ++connections;
      read(std::make_shared<Connection>(std::move(socket)));
      accept();
    });
  }

  void read(const std::shared_ptr<Connection>& connection) {
    asio::async_read_until(connection->socket, asio::dynamic_buffer(connection->buffer), "\r\n\r\n",
                           [this, connection](const boost::system::error_code& ec, size_t length) {
                             if (ec) return;
                             connection->buffer.erase(0, length);
                             Then then =
                                 static_cast<size_t>(requests) < script_.size() ? script_[requests] : Then::Answer;
                             ++requests;
                             respond(connection, then);
                           });
  }

  void respond(const std::shared_ptr<Connection>& connection, Then then) {
    static const std::string kAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    static const std::string kPart = "HTTP/1.1 200 OK\r\nContent-Le";
    if (then == Then::CloseSilently) return connection->socket.close();
    const std::string& bytes = then == Then::Answer ? kAnswer : kPart;
    asio::async_write(connection->socket, asio::buffer(bytes),
                      [this, connection, then](const boost::system::error_code& ec, size_t) {
                        if (ec) return;
                        if (then == Then::Answer) return read(connection);
                        connection->socket.close();
                      });
  }

  tcp::acceptor acceptor_;
  std::vector<Then> script_;
};

class ForwardRetry : public ::testing::Test {
 protected:
  // Forwards one GET to the owner and runs the loop until it is answered (or 5 s pass).
  std::optional<HttpResponse> forward(const ScriptedOwner& owner) {
    HttpRequest request;
    request.method = "GET";
    request.path = "/engine.io/";
    request.query = "EIO=4&transport=polling&sid=abc";
    request.target = request.path + "?" + request.query;
    bool done = false;
    std::optional<HttpResponse> response;
    auto in_flight = forward_request(loop.get_executor(), request, "127.0.0.1", owner.port(),
                                     [&](std::optional<HttpResponse> answer) {
                                       response = std::move(answer);
                                       done = true;
                                     });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done && std::chrono::steady_clock::now() < deadline) loop.run_one_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(done) << "no answer within 5 s";
    return response;
  }

  asio::io_context loop;
};

using Then = ScriptedOwner::Then;

TEST_F(ForwardRetry, APooledConnectionClosedUnderTheRequestIsRetriedOnceOnANewOne) {
  ScriptedOwner owner(loop, {Then::Answer, Then::CloseSilently, Then::Answer});
  auto first = forward(owner);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(owner.connections, 1);
  // The first connection went back to the pool; the owner closes it as the next request arrives.
  auto second = forward(owner);
  ASSERT_TRUE(second) << "the request was not retried";
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "ok");
  EXPECT_EQ(owner.connections, 2) << "retried on a new connection";
  EXPECT_EQ(owner.requests, 3);
}

TEST_F(ForwardRetry, APooledConnectionThatAnsweredPartlyIsNotRetried) {
  ScriptedOwner owner(loop, {Then::Answer, Then::AnswerPartlyAndClose});
  ASSERT_TRUE(forward(owner));
  auto second = forward(owner);
  EXPECT_FALSE(second) << "part of an answer means the owner acted on it: no second try";
  EXPECT_EQ(owner.connections, 1);
  EXPECT_EQ(owner.requests, 2);
}

TEST_F(ForwardRetry, ANewConnectionClosedUnderTheRequestIsNotRetried) {
  ScriptedOwner owner(loop, {Then::CloseSilently});
  auto answer = forward(owner);
  EXPECT_FALSE(answer);
  EXPECT_EQ(owner.connections, 1);
  EXPECT_EQ(owner.requests, 1);
}

TEST_F(ForwardRetry, AnOwnerThatCannotBeReachedIsAnErrorNotAWait) {
  uint16_t port;
  {
    tcp::acceptor closed(loop, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    port = closed.local_endpoint().port();
  }
  HttpRequest request;
  request.method = "GET";
  request.target = "/";
  bool done = false;
  std::optional<HttpResponse> response{HttpResponse{}};
  auto in_flight = forward_request(loop.get_executor(), request, "127.0.0.1", port, [&](std::optional<HttpResponse> r) {
    response = std::move(r);
    done = true;
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done && std::chrono::steady_clock::now() < deadline) loop.run_one_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(done);
  EXPECT_FALSE(response);
}

}  // namespace forward_retry_test
}  // namespace herald::net
