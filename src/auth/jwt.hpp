// Verifies JSON Web Tokens (RFC 7519, JWS compact form) that a backend issues to its clients, so a
// connection is logged in as the token's `sub` and nothing else. The signature checks are
// OpenSSL's (HMAC, RSA PKCS#1 v1.5, ECDSA, Ed25519); this file only splits the token, picks the
// check its configuration allows and reads the claims, which no Debian package does for C++.
// Algorithm confusion is closed by construction: HS* needs the shared secret, RS*/ES*/EdDSA need a
// public key of that very type, and `none` is never accepted.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::auth {

struct JwtClaims {
  std::string subject;                                           // `sub`: the user
  std::vector<std::string> rooms;                                // `rooms`: rooms the backend gives the connection
  std::optional<std::chrono::system_clock::time_point> expires;  // `exp`
};

class JwtVerifier {
 public:
  // `secret` for HS256/384/512, `public_key_pem` (RSA, EC P-256/P-384 or Ed25519) for
  // RS256/384/512, ES256/384, EdDSA; at least one. Throws std::invalid_argument on a bad key.
  JwtVerifier(std::string secret, const std::string& public_key_pem);
  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

  // The claims of a genuine, current token; otherwise nullopt and why in `error`.
  std::optional<JwtClaims> verify(std::string_view token, std::string& error,
                                  std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

 private:
  bool signature_ok(const std::string& alg, std::string_view signed_part, const std::string& signature,
                    std::string& error) const;

  std::string secret_;
  struct Key;
  std::unique_ptr<Key> key_;
};

}  // namespace herald::auth
