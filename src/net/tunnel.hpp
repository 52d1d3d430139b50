// A byte pipe between a client connection and another Herald process: a request for a session
// owned elsewhere is replayed there and the connection becomes a tunnel, so HTTP keep-alive,
// long-polls and WebSocket upgrades all work without sticky sessions.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

namespace herald::net {

// Connects to host:port, writes `first_bytes` (the request as received), then relays both ways
// until either side closes. `client` answers 502 if the owner cannot be reached.
void start_tunnel(boost::asio::ip::tcp::socket client, std::string first_bytes, const std::string& host, uint16_t port);

}  // namespace herald::net
