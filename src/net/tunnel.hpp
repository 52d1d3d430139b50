// A byte pipe between a client connection and another Herald process, for a request that hands
// the rest of the connection to the owner of a session: a WebSocket upgrade (the connection then
// belongs to that session for good), or a request whose body was too large to read (its owner
// answers 413 and the connection ends). Other requests are forwarded one by one (net/forward.*).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace herald::net {

class TlsSession;

// Connects to host:port, writes `first_bytes` (the request as received), then relays both ways
// until either side closes. If the owner cannot be reached, `client` is sent `unreachable_reply` (a
// whole HTTP response, which the protocol above chose) and closed. `tls`: the client's TLS session,
// or nullptr (the owner is always spoken to in plain TCP, on its internal port).
void start_tunnel(boost::asio::ip::tcp::socket client, std::unique_ptr<TlsSession> tls, std::string first_bytes,
                  const std::string& host, uint16_t port, std::string unreachable_reply);

}  // namespace herald::net
