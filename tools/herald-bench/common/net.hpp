// Socket helpers shared by both tools: resolving the server once, and binding clients to chosen
// local addresses (each local address has its own ~28k ephemeral ports towards one server).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace herald::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// The first address `host` resolves to; throws boost::system::system_error when it does not.
tcp::endpoint resolve_endpoint(asio::io_context& io, const std::string& host, uint16_t port);

// Parses "127.0.0.2-127.0.0.20" (an IPv4 range), "a,b,c" or a single address. Empty text gives
// an empty list (let the kernel choose). nullopt and `error` when malformed.
std::optional<std::vector<asio::ip::address>> parse_source_addresses(std::string_view text, std::string& error);

// Opens `socket` bound to `local` (port chosen at connect time, so ports are shared across
// destinations). A no-op when `local` is unspecified.
void bind_local_address(tcp::socket& socket, const asio::ip::address& local, boost::system::error_code& ec);

}  // namespace herald::bench
