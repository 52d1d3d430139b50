// auth::JwtVerifier with HS256 tokens made here (OpenSSL HMAC): what is accepted, and every way a
// token is refused. Public-key algorithms are covered by the integration test with Node's keys.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <string>

#include "auth/jwt.hpp"
#include "codec/base64.hpp"

namespace herald::auth {
namespace jwt_test {

std::string b64url(std::string_view bytes) { return codec::base64url_encode(bytes); }

std::string hs256(const std::string& header, const std::string& claims, const std::string& secret) {
  std::string head = b64url(header) + "." + b64url(claims);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  size_t length = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
            reinterpret_cast<const unsigned char*>(head.data()), head.size(), mac.data(), mac.size(), &length);
  return head + "." + b64url(std::string_view(reinterpret_cast<const char*>(mac.data()), length));
}

const std::string kHeader = R"({"alg":"HS256","typ":"JWT"})";

TEST(Jwt, AcceptsAGenuineTokenAndReadsItsClaims) {
  JwtVerifier verifier("secret", "");
  std::string error;
  auto claims =
      verifier.verify(hs256(kHeader, R"({"sub":"alice","rooms":["a","b"],"exp":4102444800})", "secret"), error);
  ASSERT_TRUE(claims) << error;
  EXPECT_EQ(claims->subject, "alice");
  EXPECT_EQ(claims->rooms, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(claims->expires);
}

TEST(Jwt, RefusesEveryBadToken) {
  JwtVerifier verifier("secret", "");
  auto refused = [&](const std::string& token, const std::string& why) {
    std::string error;
    EXPECT_FALSE(verifier.verify(token, error)) << token;
    EXPECT_NE(error.find(why), std::string::npos) << "error: " << error << ", expected " << why;
  };
  refused(hs256(kHeader, R"({"sub":"alice"})", "other"), "bad signature");
  refused(hs256(kHeader, R"({"sub":"alice","exp":1})", "secret"), "expired");
  refused(hs256(kHeader, R"({"sub":"alice","nbf":4102444800})", "secret"), "not valid yet");
  refused(hs256(kHeader, R"({"sub":"alice","exp":"soon"})", "secret"), "numbers");
  refused(hs256(kHeader, R"({"name":"no sub"})", "secret"), "no sub");
  refused(hs256(kHeader, R"({"sub":"alice","rooms":"a"})", "secret"), "rooms");
  refused(hs256(R"({"alg":"none"})", R"({"sub":"alice"})", "secret"), "not accepted");
  refused(hs256(R"({"alg":"RS256"})", R"({"sub":"alice"})", "secret"), "not accepted");
  refused(hs256(R"({"typ":"JWT"})", R"({"sub":"alice"})", "secret"), "no alg");
  refused("a.b", "not a JWT");
  refused("a.b.c.d", "not a JWT");
  refused("!!.??.==", "malformed");
  std::string deep = std::string(100, '[') + std::string(100, ']');
  refused(hs256(kHeader, deep, "secret"), "malformed");
}

TEST(Jwt, NeedsAKeyAndRefusesOneThatIsNotPem) {
  EXPECT_THROW(JwtVerifier("", ""), std::invalid_argument);
  EXPECT_THROW(JwtVerifier("", "not a key"), std::invalid_argument);
}

TEST(Jwt, Base64UrlDecodesWithoutPaddingOnly) {
  EXPECT_EQ(codec::base64url_decode("aGk"), "hi");
  EXPECT_EQ(codec::base64url_decode("-_8"), std::string("\xfb\xff", 2));
  EXPECT_FALSE(codec::base64url_decode("aGk="));
  EXPECT_FALSE(codec::base64url_decode("a+b/"));
  EXPECT_FALSE(codec::base64url_decode("a"));
}

}  // namespace jwt_test
}  // namespace herald::auth
