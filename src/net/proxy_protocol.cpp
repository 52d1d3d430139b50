#include "net/proxy_protocol.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <vector>

namespace herald::net {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr size_t kV1MaxLine = 107;  // the spec's bound, CRLF included
constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr size_t kV2HeaderSize = 16;

ProxyHeader invalid(std::string why) {
  ProxyHeader header;
  header.status = ProxyHeader::Status::Invalid;
  header.error = std::move(why);
  return header;
}

ProxyHeader done(size_t length, std::optional<std::string> source) {
  ProxyHeader header;
  header.status = ProxyHeader::Status::Done;
  header.length = length;
  header.source = std::move(source);
  return header;
}

// The canonical text of an address given as text (v1), or nullopt if it is not one of `family`.
std::optional<std::string> canonical_address(int family, std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string terminated(text);
  std::array<unsigned char, 16> bytes{};
  if (::inet_pton(family, terminated.c_str(), bytes.data()) != 1) return std::nullopt;
  std::array<char, INET6_ADDRSTRLEN> out{};
  if (!::inet_ntop(family, bytes.data(), out.data(), out.size())) return std::nullopt;
  return std::string(out.data());
}

bool valid_port(std::string_view text) {
  unsigned value = 0;
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && value <= 65535;
}

// "PROXY TCP4 <src> <dst> <sport> <dport>\r\n", "PROXY TCP6 ...", or "PROXY UNKNOWN[ ...]\r\n".
ProxyHeader parse_v1(std::string_view bytes) {
  size_t end = bytes.find("\r\n");
  // The line is printable ASCII (so no NUL can cut an address short for inet_pton).
  std::string_view line_so_far = bytes.substr(0, std::min({end, bytes.size(), kV1MaxLine}));
  for (size_t i = 0; i < line_so_far.size(); ++i) {
    char c = line_so_far[i];
    bool last_cr = c == '\r' && i + 1 == bytes.size();
    if ((c < 0x20 || c > 0x7e) && !last_cr) return invalid("PROXY v1 line has a byte that is not printable ASCII");
  }
  if (end == std::string_view::npos) {
    if (bytes.size() >= kV1MaxLine) return invalid("PROXY v1 line longer than 107 bytes");
    return ProxyHeader{};
  }
  if (end + 2 > kV1MaxLine) return invalid("PROXY v1 line longer than 107 bytes");
  std::string_view line = bytes.substr(kV1Prefix.size(), end - kV1Prefix.size());
  std::vector<std::string_view> fields;
  while (!line.empty()) {
    size_t space = line.find(' ');
    fields.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
    if (line.empty()) return invalid("PROXY v1 line ends with a space");
  }
  if (fields.empty()) return invalid("PROXY v1 line without a protocol");
  if (fields[0] == "UNKNOWN") return done(end + 2, std::nullopt);
  int family = fields[0] == "TCP4" ? AF_INET : fields[0] == "TCP6" ? AF_INET6 : -1;
  if (family < 0) return invalid("PROXY v1 protocol must be TCP4, TCP6 or UNKNOWN");
  if (fields.size() != 5) return invalid("PROXY v1 line needs 2 addresses and 2 ports");
  auto source = canonical_address(family, fields[1]);
  if (!source || !canonical_address(family, fields[2])) return invalid("PROXY v1 address is not of its protocol");
  if (!valid_port(fields[3]) || !valid_port(fields[4])) return invalid("PROXY v1 port is not a number up to 65535");
  return done(end + 2, source);
}

ProxyHeader parse_v2(std::string_view bytes) {
  if (bytes.size() < kV2HeaderSize) return ProxyHeader{};
  auto byte = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  if ((byte(12) >> 4) != 2) return invalid("PROXY v2 header of another version");
  uint8_t command = byte(12) & 0x0f;
  if (command > 1) return invalid("PROXY v2 command must be LOCAL or PROXY");
  uint8_t family = byte(13) >> 4;
  uint8_t transport = byte(13) & 0x0f;
  size_t length = kV2HeaderSize + ((size_t{byte(14)} << 8) | byte(15));
  if (length > kMaxProxyHeader) return invalid("PROXY v2 header longer than 4096 bytes");
  size_t needed = family == 1 ? 12 : family == 2 ? 36 : family == 3 ? 216 : 0;
  if (family > 3) return invalid("PROXY v2 address family unknown");
  if (transport > 2) return invalid("PROXY v2 transport unknown");
  if (length - kV2HeaderSize < needed) return invalid("PROXY v2 addresses longer than the header says");
  if (bytes.size() < length) return ProxyHeader{};
  // LOCAL: the proxy's own connection (a health check); its addresses, if any, are ignored.
  if (command == 0 || family == 0 || family == 3) return done(length, std::nullopt);
  std::array<char, INET6_ADDRSTRLEN> out{};
  const char* source = bytes.data() + kV2HeaderSize;
  if (!::inet_ntop(family == 1 ? AF_INET : AF_INET6, source, out.data(), out.size()))
    return invalid("PROXY v2 source address unreadable");
  return done(length, std::string(out.data()));
}

}  // namespace

bool starts_like_proxy_header(std::string_view bytes) {
  size_t v1 = std::min(bytes.size(), kV1Prefix.size());
  if (v1 > 0 && bytes.substr(0, v1) == kV1Prefix.substr(0, v1)) return true;
  size_t v2 = std::min(bytes.size(), kV2Signature.size());
  return v2 > 0 && bytes.substr(0, v2) == kV2Signature.substr(0, v2);
}

ProxyHeader parse_proxy_header(std::string_view bytes) {
  if (bytes.empty()) return ProxyHeader{};
  if (bytes.size() >= kV1Prefix.size() && bytes.starts_with(kV1Prefix)) return parse_v1(bytes);
  if (bytes.size() >= kV2Signature.size() && bytes.starts_with(kV2Signature)) return parse_v2(bytes);
  if (starts_like_proxy_header(bytes)) return ProxyHeader{};
  return invalid("the connection does not start with a PROXY protocol header");
}

}  // namespace herald::net
