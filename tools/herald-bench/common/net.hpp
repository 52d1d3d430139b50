// Socket helpers shared by both tools: resolving the server once, and binding clients to chosen
// local addresses (each local address has its own ~28k ephemeral ports towards one server).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace herald::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// From starting a connection to the Socket.IO CONNECT answer.
inline constexpr std::chrono::milliseconds kConnectTimeout{20000};

// The first address `host` resolves to; throws boost::system::system_error when it does not.
tcp::endpoint resolve_endpoint(asio::io_context& io, const std::string& host, uint16_t port);

// Parses "127.0.0.2-127.0.0.20" (an IPv4 range), "a,b,c" or a single address. Empty text gives
// an empty list (let the kernel choose). nullopt and `error` when malformed.
std::optional<std::vector<asio::ip::address>> parse_source_addresses(std::string_view text, std::string& error);

// Lets a socket bound to an address share its ports across destinations (the port is chosen at
// connect time).
void defer_port_choice(int native_socket);

// Opens `socket` (of any executor) bound to `local`. A no-op when `local` is unspecified.
template <class Socket>
void bind_local_address(Socket& socket, const asio::ip::address& local, boost::system::error_code& ec) {
  if (local.is_unspecified()) return;
  socket.open(local.is_v4() ? tcp::v4() : tcp::v6(), ec);
  if (ec) return;
  defer_port_choice(socket.native_handle());
  socket.bind(tcp::endpoint(local, 0), ec);
}

}  // namespace herald::bench
