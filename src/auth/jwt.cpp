#include "auth/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <stdexcept>
#include "codec/json.hpp"

#include "codec/base64.hpp"
#include "codec/json_depth.hpp"

namespace herald::auth {
namespace {

using Json = herald::Json;

const EVP_MD* digest_for(std::string_view bits) {
  if (bits == "256") return EVP_sha256();
  if (bits == "384") return EVP_sha384();
  if (bits == "512") return EVP_sha512();
  return nullptr;
}

std::optional<Json> decode_json(std::string_view part) {
  auto text = codec::base64url_decode(part);
  if (!text || !codec::json_depth_within(*text)) return std::nullopt;
  Json value = Json::parse(*text, nullptr, false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

// JWS carries ECDSA signatures as r || s; OpenSSL verifies DER.
std::optional<std::string> ecdsa_der(const std::string& raw) {
  if (raw.empty() || raw.size() % 2 != 0) return std::nullopt;
  size_t half = raw.size() / 2;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + half), static_cast<int>(half), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

std::optional<std::chrono::system_clock::time_point> numeric_date(const Json& claims, const char* name, bool& bad) {
  auto found = claims.find(name);
  if (found == claims.end()) return std::nullopt;
  if (!found->is_number()) {
    bad = true;
    return std::nullopt;
  }
  auto seconds = std::chrono::duration<double>(found->get<double>());
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(seconds));
}

}  // namespace

struct JwtVerifier::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

JwtVerifier::JwtVerifier(std::string secret, const std::string& public_key_pem)
    : secret_(std::move(secret)), key_(std::make_unique<Key>()) {
  if (!public_key_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size()));
    key_->pkey = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    if (!key_->pkey) throw std::invalid_argument("not a PEM public key (-----BEGIN PUBLIC KEY-----)");
  }
  if (secret_.empty() && !key_->pkey) throw std::invalid_argument("a JWT secret or public key is needed");
}

JwtVerifier::~JwtVerifier() = default;

bool JwtVerifier::signature_ok(const std::string& alg, std::string_view signed_part, const std::string& signature,
                               std::string& error) const {
  const auto* data = reinterpret_cast<const unsigned char*>(signed_part.data());
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  if (alg.size() == 5 && alg.starts_with("HS")) {
    const EVP_MD* md = digest_for(std::string_view(alg).substr(2));
    if (!md || secret_.empty()) return error = "algorithm " + alg + " is not accepted", false;
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    size_t length = 0;
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, EVP_MD_get0_name(md), nullptr, secret_.data(), secret_.size(), data,
                   signed_part.size(), mac.data(), mac.size(), &length))
      return error = "HMAC failed", false;
    if (length != signature.size() || CRYPTO_memcmp(mac.data(), sig, length) != 0)
      return error = "bad signature", false;
    return true;
  }
  EVP_PKEY* pkey = key_->pkey;
  int type = pkey ? EVP_PKEY_get_base_id(pkey) : EVP_PKEY_NONE;
  const EVP_MD* md = nullptr;
  std::string der;
  std::string_view checked = signature;
  if (alg.size() == 5 && alg.starts_with("RS") && type == EVP_PKEY_RSA) {
    md = digest_for(std::string_view(alg).substr(2));
  } else if ((alg == "ES256" || alg == "ES384") && type == EVP_PKEY_EC) {
    md = digest_for(std::string_view(alg).substr(2));
    auto converted = ecdsa_der(signature);
    if (!converted) return error = "bad signature", false;
    der = std::move(*converted);
    checked = der;
  } else if (alg == "EdDSA" && type == EVP_PKEY_ED25519) {
    // Ed25519 hashes internally: no digest.
  } else {
    return error = "algorithm " + alg + " is not accepted", false;
  }
  if (alg != "EdDSA" && !md) return error = "algorithm " + alg + " is not accepted", false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(checked.data()), checked.size(), data,
                             signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) error = "bad signature";
  return ok;
}

std::optional<JwtClaims> JwtVerifier::verify(std::string_view token, std::string& error,
                                             std::chrono::system_clock::time_point now) const {
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    error = "not a JWT (header.payload.signature)";
    return std::nullopt;
  }
  auto header = decode_json(token.substr(0, first));
  auto claims = decode_json(token.substr(first + 1, second - first - 1));
  auto signature = codec::base64url_decode(token.substr(second + 1));
  if (!header || !claims || !signature) {
    error = "malformed JWT";
    return std::nullopt;
  }
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) {
    error = "JWT header has no alg";
    return std::nullopt;
  }
  if (!signature_ok(alg->get<std::string>(), token.substr(0, second), *signature, error)) return std::nullopt;
  bool bad = false;
  auto expires = numeric_date(*claims, "exp", bad);
  auto not_before = numeric_date(*claims, "nbf", bad);
  if (bad) {
    error = "exp and nbf must be numbers";
    return std::nullopt;
  }
  if (expires && now >= *expires) {
    error = "token expired";
    return std::nullopt;
  }
  if (not_before && now < *not_before) {
    error = "token not valid yet (nbf)";
    return std::nullopt;
  }
  JwtClaims out;
  auto sub = claims->find("sub");
  if (sub == claims->end() || !sub->is_string() || sub->get_ref<const std::string&>().empty()) {
    error = "token has no sub";
    return std::nullopt;
  }
  out.subject = sub->get<std::string>();
  out.expires = expires;
  if (auto rooms = claims->find("rooms"); rooms != claims->end()) {
    if (!rooms->is_array()) {
      error = "rooms must be an array of strings";
      return std::nullopt;
    }
    for (const auto& room : *rooms) {
      if (!room.is_string()) {
        error = "rooms must be an array of strings";
        return std::nullopt;
      }
      out.rooms.push_back(room.get<std::string>());
    }
  }
  return out;
}

}  // namespace herald::auth
