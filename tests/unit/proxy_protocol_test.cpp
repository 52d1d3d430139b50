// The PROXY protocol header (HAProxy's spec, versions 1 and 2), as load balancers send it.
#include "net/proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <string>

namespace herald::net {
namespace proxy_protocol_test {

using namespace std::string_literals;
using Status = ProxyHeader::Status;

const std::string kV2Signature = "\r\n\r\n\0\r\nQUIT\n"s;

std::string v2(char version_command, char family_transport, const std::string& addresses) {
  std::string header = kV2Signature;
  header += version_command;
  header += family_transport;
  header += static_cast<char>(addresses.size() >> 8);
  header += static_cast<char>(addresses.size() & 0xff);
  return header + addresses;
}

TEST(ProxyProtocol, V1Tcp4GivesTheSourceAndTheLength) {
  std::string line = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n";
  auto header = parse_proxy_header(line + "GET / HTTP/1.1\r\n");
  ASSERT_EQ(header.status, Status::Done) << header.error;
  EXPECT_EQ(header.length, line.size());
  EXPECT_EQ(header.source, "192.0.2.1");
}

TEST(ProxyProtocol, V1Tcp6IsCanonicalised) {
  auto header = parse_proxy_header("PROXY TCP6 2001:DB8:0:0:0:0:0:1 2001:db8::2 1 65535\r\n");
  ASSERT_EQ(header.status, Status::Done) << header.error;
  EXPECT_EQ(header.source, "2001:db8::1");
}

TEST(ProxyProtocol, V1UnknownHasNoSource) {
  auto header = parse_proxy_header("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n");
  ASSERT_EQ(header.status, Status::Done);
  EXPECT_FALSE(header.source);
}

TEST(ProxyProtocol, V1PrefixesAreIncomplete) {
  std::string line = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n";
  for (size_t n = 1; n < line.size(); ++n)
    EXPECT_EQ(parse_proxy_header(line.substr(0, n)).status, Status::Incomplete) << n;
}

TEST(ProxyProtocol, V1Refusals) {
  for (std::string bad : {"PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n"s, "PROXY TCP4 2001:db8::1 192.0.2.2 1 2\r\n"s,
                          "PROXY TCP6 192.0.2.1 192.0.2.2 1 2\r\n"s, "PROXY TCP4 192.0.2.1 192.0.2.2 1 65536\r\n"s,
                          "PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\n"s, "PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n"s,
                          "PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n"s, "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n"s,
                          "PROXY TCP6 2001:db8::1\0garbage 2001:db8::2 1 2\r\n"s, "PROXY " + std::string(120, 'x')}) {
    auto header = parse_proxy_header(bad);
    EXPECT_EQ(header.status, Status::Invalid) << bad;
    EXPECT_FALSE(header.error.empty());
  }
}

TEST(ProxyProtocol, V2Inet) {
  std::string addresses = "\xc0\x00\x02\x01\xc6\x33\x64\x02\xdc\x04\x01\xbb"s;
  std::string header_bytes = v2('\x21', '\x11', addresses);
  auto header = parse_proxy_header(header_bytes + "\x16\x03\x01"s);
  ASSERT_EQ(header.status, Status::Done) << header.error;
  EXPECT_EQ(header.length, 28u);
  EXPECT_EQ(header.source, "192.0.2.1");
  for (size_t n = 1; n < header_bytes.size(); ++n)
    EXPECT_EQ(parse_proxy_header(header_bytes.substr(0, n)).status, Status::Incomplete) << n;
}

TEST(ProxyProtocol, V2Inet6WithTlvs) {
  std::string addresses(36, '\0');
  addresses[0] = '\x20';
  addresses[1] = '\x01';
  addresses[2] = '\x0d';
  addresses[3] = '\xb8';
  addresses[15] = '\x07';
  addresses += "\x04\x00\x02xy"s;  // a TLV (NOOP) after the addresses
  auto header = parse_proxy_header(v2('\x21', '\x21', addresses));
  ASSERT_EQ(header.status, Status::Done) << header.error;
  EXPECT_EQ(header.length, 16u + addresses.size());
  EXPECT_EQ(header.source, "2001:db8::7");
}

TEST(ProxyProtocol, V2LocalIsTheProxyItself) {
  auto header = parse_proxy_header(v2('\x20', '\x00', ""));
  ASSERT_EQ(header.status, Status::Done);
  EXPECT_EQ(header.length, 16u);
  EXPECT_FALSE(header.source);
}

TEST(ProxyProtocol, V2Refusals) {
  std::string inet(12, '\x01');
  EXPECT_EQ(parse_proxy_header(v2('\x11', '\x11', inet)).status, Status::Invalid);  // version 1 in a v2 header
  EXPECT_EQ(parse_proxy_header(v2('\x22', '\x11', inet)).status, Status::Invalid);  // command 2
  EXPECT_EQ(parse_proxy_header(v2('\x21', '\x51', inet)).status, Status::Invalid);  // family 5
  EXPECT_EQ(parse_proxy_header(v2('\x21', '\x21', inet)).status, Status::Invalid);  // IPv6 in 12 bytes
  EXPECT_EQ(parse_proxy_header(v2('\x21', '\x11', std::string(5000, 'x'))).status, Status::Invalid);  // too long
}

TEST(ProxyProtocol, OtherFirstBytesAreNotAHeader) {
  EXPECT_EQ(parse_proxy_header("GET / HTTP/1.1\r\n").status, Status::Invalid);
  EXPECT_EQ(parse_proxy_header("\x16\x03\x01\x02\x00"s).status, Status::Invalid);
  EXPECT_EQ(parse_proxy_header("PROXZ").status, Status::Invalid);
  EXPECT_TRUE(starts_like_proxy_header("PRO"));
  EXPECT_TRUE(starts_like_proxy_header("\r\n\r\n"));
  EXPECT_FALSE(starts_like_proxy_header("GET"));
}

}  // namespace proxy_protocol_test
}  // namespace herald::net
