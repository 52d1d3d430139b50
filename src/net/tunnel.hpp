// A byte pipe between a client connection and another Herald process, for a request that hands
// the rest of the connection to the owner of a session: a WebSocket upgrade (the connection then
// belongs to that session for good), or a request whose body was too large to read (its owner
// answers 413 and the connection ends). Other requests are forwarded one by one (net/forward.*).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace herald::net {

// The body of the 502 answered when the owner of a session cannot be reached.
inline constexpr std::string_view kOwnerUnreachableBody =
    "{\"code\":1,\"message\":\"Session ID unknown (owner unreachable)\"}";

// Connects to host:port, writes `first_bytes` (the request as received), then relays both ways
// until either side closes. `client` answers 502 if the owner cannot be reached.
void start_tunnel(boost::asio::ip::tcp::socket client, std::string first_bytes, const std::string& host, uint16_t port);

}  // namespace herald::net
