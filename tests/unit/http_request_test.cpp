// net::HttpRequest's checks of a WebSocket upgrade's handshake headers (RFC 6455 4.2.1).
#include <gtest/gtest.h>

#include <string>

#include "net/http.hpp"

namespace herald::net {
namespace http_request_test {

HttpRequest upgrade(std::string key, std::string version) {
  HttpRequest request;
  request.headers = {{"upgrade", "websocket"}, {"connection", "Upgrade"}};
  if (!key.empty()) request.headers.emplace_back("sec-websocket-key", std::move(key));
  if (!version.empty()) request.headers.emplace_back("sec-websocket-version", std::move(version));
  return request;
}

TEST(WebSocketHandshake, SixteenBytesInBase64AndVersion13AreAccepted) {
  EXPECT_EQ(upgrade("dGhlIHNhbXBsZSBub25jZQ==", "13").websocket_handshake_error(), WebSocketHandshakeError::None);
  EXPECT_EQ(upgrade("+/+/+/+/+/+/+/+/+/+/+w==", "13").websocket_handshake_error(), WebSocketHandshakeError::None);
}

TEST(WebSocketHandshake, MissingOrMalformedKeyIsRefused) {
  for (std::string key :
       {"", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ===", "dGhlIHNhbXBsZSBub25j",
        "dGhlIHNhbXBsZSBub25jZQ.=", "dGhlIHNhbXBsZSBub2 jZQ==", "dGhlIHNhbXBsZSBub25jZQ=A"})
    EXPECT_EQ(upgrade(key, "13").websocket_handshake_error(), WebSocketHandshakeError::BadKey) << key;
}

TEST(WebSocketHandshake, VersionOtherThan13IsRefused) {
  for (std::string version : {"", "8", "12", "14", "13, 8"})
    EXPECT_EQ(upgrade("dGhlIHNhbXBsZSBub25jZQ==", version).websocket_handshake_error(),
              WebSocketHandshakeError::BadVersion)
        << version;
}

}  // namespace http_request_test
}  // namespace herald::net
