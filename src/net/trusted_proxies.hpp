// Which peers are proxies whose X-Forwarded-For is believed (--trusted-proxies CIDR,...), and the
// client address a request then has: the rightmost address in X-Forwarded-For that is not itself
// a trusted proxy. From anyone else the header is ignored, so a client cannot pick its address.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace herald::net {

class TrustedProxies {
 public:
  TrustedProxies() = default;
  // CIDRs ("10.0.0.0/8", "::1/128") or single addresses; throws std::invalid_argument.
  explicit TrustedProxies(const std::vector<std::string>& cidrs);

  bool empty() const { return networks_.empty(); }
  bool trusted(const boost::asio::ip::address& address) const;
  // The address to treat as the client's, given the TCP peer and the X-Forwarded-For header.
  std::string client_address(const std::string& peer, std::string_view forwarded_for) const;

 private:
  struct Network {
    boost::asio::ip::address base;
    unsigned prefix;
  };
  std::vector<Network> networks_;
};

}  // namespace herald::net
