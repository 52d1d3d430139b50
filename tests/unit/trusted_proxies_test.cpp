// net::TrustedProxies: X-Forwarded-For is believed from trusted peers only, read from the right.
#include <gtest/gtest.h>

#include "net/trusted_proxies.hpp"

namespace herald::net {
namespace trusted_proxies_test {

TEST(TrustedProxies, WithoutAnyTheHeaderIsIgnored) {
  TrustedProxies none;
  EXPECT_EQ(none.client_address("10.0.0.1", "1.2.3.4"), "10.0.0.1");
}

TEST(TrustedProxies, FromATrustedPeerTheRightmostUntrustedHopIsTheClient) {
  TrustedProxies proxies({"10.0.0.0/8", "192.168.1.7"});
  EXPECT_EQ(proxies.client_address("10.1.2.3", "1.2.3.4"), "1.2.3.4");
  EXPECT_EQ(proxies.client_address("10.1.2.3", "6.6.6.6, 1.2.3.4, 192.168.1.7"), "1.2.3.4")
      << "a client's own X-Forwarded-For entries to the left are not believed";
  EXPECT_EQ(proxies.client_address("10.1.2.3", "10.9.9.9"), "10.9.9.9") << "all trusted: the leftmost";
  EXPECT_EQ(proxies.client_address("::ffff:10.1.2.3", "1.2.3.4"), "1.2.3.4") << "IPv4-mapped peers";
  EXPECT_EQ(proxies.client_address("10.1.2.3", ""), "10.1.2.3");
  EXPECT_EQ(proxies.client_address("10.1.2.3", "garbage"), "10.1.2.3");
}

TEST(TrustedProxies, FromAnyoneElseTheHeaderIsIgnored) {
  TrustedProxies proxies({"10.0.0.0/8"});
  EXPECT_EQ(proxies.client_address("11.0.0.1", "1.2.3.4"), "11.0.0.1");
  EXPECT_EQ(proxies.client_address("192.168.1.8", "1.2.3.4"), "192.168.1.8");
}

TEST(TrustedProxies, Ipv6Networks) {
  TrustedProxies proxies({"fd00::/8"});
  EXPECT_EQ(proxies.client_address("fd12::1", "2001:db8::5"), "2001:db8::5");
  EXPECT_EQ(proxies.client_address("fe80::1", "2001:db8::5"), "fe80::1");
}

TEST(TrustedProxies, RefusesWhatIsNotACidr) {
  EXPECT_THROW(TrustedProxies({"10.0.0.0/33"}), std::invalid_argument);
  EXPECT_THROW(TrustedProxies({"ten"}), std::invalid_argument);
  EXPECT_THROW(TrustedProxies({"10.0.0.0/x"}), std::invalid_argument);
}

}  // namespace trusted_proxies_test
}  // namespace herald::net
