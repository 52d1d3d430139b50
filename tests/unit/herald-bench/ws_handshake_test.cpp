// The opening handshake of herald-bench's WebSocket clients: the request, and the checks on the
// server's answer.
#include "ws/handshake.hpp"

#include <gtest/gtest.h>

#include <boost/beast/websocket/error.hpp>

namespace herald::bench::ws {
namespace {

namespace http = boost::beast::http;
using boost::beast::websocket::error;

UpgradeResponse accepting(std::string_view key) {
  UpgradeResponse response{http::status::switching_protocols, 11};
  response.set(http::field::upgrade, "websocket");
  response.set(http::field::connection, "Upgrade");
  response.set(http::field::sec_websocket_accept, accept_for(key));
  return response;
}

TEST(WsHandshake, AcceptValueIsTheOneOfRfc6455) {
  EXPECT_EQ(accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, KeysAreSixteenBytesOfBase64AndDiffer) {
  std::minstd_rand random(1);
  std::string first = make_key(random);
  EXPECT_EQ(first.size(), 24u);
  EXPECT_EQ(first.substr(22), "==");
  EXPECT_NE(make_key(random), first);
}

TEST(WsHandshake, RequestAsksForVersion13) {
  std::string request = upgrade_request("127.0.0.1:1994", "/socket.io/?EIO=4&transport=websocket", "KEY");
  EXPECT_EQ(request.rfind("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:1994\r\n", 0), 0u);
  EXPECT_NE(request.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
  EXPECT_NE(request.find("\r\nConnection: upgrade\r\n"), std::string::npos);
  EXPECT_NE(request.find("\r\nSec-WebSocket-Key: KEY\r\n"), std::string::npos);
  EXPECT_NE(request.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_EQ(request.substr(request.size() - 4), "\r\n\r\n");
}

TEST(WsHandshake, AcceptsAProperAnswer) { EXPECT_FALSE(check_upgrade(accepting("k1=="), "k1==")); }

TEST(WsHandshake, SaysWhyAnAnswerIsRefused) {
  auto response = accepting("k1==");
  EXPECT_EQ(check_upgrade(response, "other"), error::bad_sec_accept);
  response.result(http::status::bad_request);
  EXPECT_EQ(check_upgrade(response, "k1=="), error::upgrade_declined);
  response = accepting("k1==");
  response.erase(http::field::sec_websocket_accept);
  EXPECT_EQ(check_upgrade(response, "k1=="), error::no_sec_accept);
  response = accepting("k1==");
  response.set(http::field::upgrade, "h2c");
  EXPECT_EQ(check_upgrade(response, "k1=="), error::no_upgrade_websocket);
  response = accepting("k1==");
  response.set(http::field::connection, "keep-alive");
  EXPECT_EQ(check_upgrade(response, "k1=="), error::no_connection_upgrade);
  response = accepting("k1==");
  response.version(10);
  EXPECT_EQ(check_upgrade(response, "k1=="), error::bad_http_version);
}

}  // namespace
}  // namespace herald::bench::ws
