#include "common/net.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/ip/address_v4.hpp>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24  // Linux 4.2+; older glibc headers lack the name
#endif

namespace herald::bench {

tcp::endpoint resolve_endpoint(asio::io_context& io, const std::string& host, uint16_t port) {
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, std::to_string(port));
  return results.begin()->endpoint();
}

std::optional<std::vector<asio::ip::address>> parse_source_addresses(std::string_view text, std::string& error) {
  std::vector<asio::ip::address> addresses;
  if (text.empty()) return addresses;
  boost::system::error_code ec;
  auto dash = text.find('-');
  if (dash != std::string_view::npos) {
    auto first = asio::ip::make_address_v4(std::string(text.substr(0, dash)), ec);
    auto last = ec ? first : asio::ip::make_address_v4(std::string(text.substr(dash + 1)), ec);
    if (ec || first.to_uint() > last.to_uint()) {
      error = "expected an IPv4 range like 127.0.0.2-127.0.0.20";
      return std::nullopt;
    }
    for (uint32_t ip = first.to_uint(); ip <= last.to_uint() && ip != 0; ++ip)
      addresses.emplace_back(asio::ip::address_v4(ip));
    return addresses;
  }
  size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    auto address = asio::ip::make_address(std::string(item), ec);
    if (ec) {
      error = "bad address '" + std::string(item) + "'";
      return std::nullopt;
    }
    addresses.push_back(address);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return addresses;
}

void defer_port_choice(int native_socket) {
  int on = 1;
  ::setsockopt(native_socket, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
}

}  // namespace herald::bench
