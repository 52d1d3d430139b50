// The client's side of the WebSocket opening handshake (RFC 6455 section 4.1): the upgrade
// request and the checks on the server's answer, as Beast's websocket stream makes them.
#pragma once

#include <random>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

namespace herald::bench::ws {

using UpgradeResponse = boost::beast::http::response<boost::beast::http::string_body>;

// A fresh Sec-WebSocket-Key: 16 random bytes in base64.
std::string make_key(std::minstd_rand& random);
// The Sec-WebSocket-Accept value a server must answer `key` with.
std::string accept_for(std::string_view key);
// GET `target` asking `host` to switch to WebSocket (version 13, no extensions).
std::string upgrade_request(std::string_view host, std::string_view target, std::string_view key);
// Success if `response` accepts the upgrade for `key`, else the websocket::error saying why.
boost::system::error_code check_upgrade(const UpgradeResponse& response, std::string_view key);

}  // namespace herald::bench::ws
