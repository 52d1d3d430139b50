#include "net/trusted_proxies.hpp"

#include <charconv>
#include <stdexcept>

namespace herald::net {
namespace {

using boost::asio::ip::address;

// An IPv4-mapped IPv6 peer (::ffff:a.b.c.d) is compared as the IPv4 address it carries.
address plain(const address& value) {
  if (value.is_v6() && value.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, value.to_v6());
  return value;
}

bool in_network(const address& value, const address& base, unsigned prefix) {
  if (value.is_v4() != base.is_v4()) return false;
  auto bytes_of = [](const address& a) {
    std::vector<unsigned char> out;
    if (a.is_v4()) {
      auto b = a.to_v4().to_bytes();
      out.assign(b.begin(), b.end());
    } else {
      auto b = a.to_v6().to_bytes();
      out.assign(b.begin(), b.end());
    }
    return out;
  };
  auto a = bytes_of(value);
  auto b = bytes_of(base);
  for (unsigned bit = 0; bit < prefix; ++bit) {
    unsigned char mask = static_cast<unsigned char>(0x80u >> (bit % 8));
    if ((a[bit / 8] & mask) != (b[bit / 8] & mask)) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

TrustedProxies::TrustedProxies(const std::vector<std::string>& cidrs) {
  for (const auto& cidr : cidrs) {
    size_t slash = cidr.find('/');
    boost::system::error_code ec;
    address base = plain(boost::asio::ip::make_address(cidr.substr(0, slash), ec));
    if (ec) throw std::invalid_argument("trusted_proxies: '" + cidr + "' is not an address or CIDR");
    unsigned max = base.is_v4() ? 32 : 128;
    unsigned prefix = max;
    if (slash != std::string::npos) {
      std::string_view bits = std::string_view(cidr).substr(slash + 1);
      auto [end, error] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
      if (error != std::errc() || end != bits.data() + bits.size() || prefix > max)
        throw std::invalid_argument("trusted_proxies: '" + cidr + "' has a bad prefix length");
    }
    networks_.push_back(Network{base, prefix});
  }
}

bool TrustedProxies::trusted(const address& value) const {
  address checked = plain(value);
  for (const auto& network : networks_)
    if (in_network(checked, network.base, network.prefix)) return true;
  return false;
}

std::string TrustedProxies::client_address(const std::string& peer, std::string_view forwarded_for) const {
  if (networks_.empty() || forwarded_for.empty()) return peer;
  boost::system::error_code ec;
  address peer_address = boost::asio::ip::make_address(peer, ec);
  if (ec || !trusted(peer_address)) return peer;
  // From the right: each hop appended the address it got the request from.
  std::string client = peer;
  while (!forwarded_for.empty()) {
    size_t comma = forwarded_for.rfind(',');
    std::string_view item = trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for = comma == std::string_view::npos ? std::string_view{} : forwarded_for.substr(0, comma);
    address hop = boost::asio::ip::make_address(std::string(item), ec);
    if (ec) break;  // not an address: believe nothing further left
    client = plain(hop).to_string();
    if (!trusted(hop)) break;
  }
  return client;
}

}  // namespace herald::net
