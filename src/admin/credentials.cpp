#include "admin/credentials.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <cctype>
#include <memory>
#include <stdexcept>

namespace herald::admin {

namespace {

bool same_text(std::string_view a, std::string_view b) {
  // Compared as digests, so that the time says nothing of the length or of the first difference.
  std::array<unsigned char, SHA256_DIGEST_LENGTH> da{}, db{};
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da.data());
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db.data());
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

// crypt_rn's answer for `password` under the hash's salt and cost; empty when the hash is unusable.
std::string bcrypt(std::string_view password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();  // about 32 KB: not on the stack
  std::string phrase(password);
  const char* out = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(phrase.data(), phrase.size());
  // libxcrypt fails with null, or with a string starting with '*'.
  if (!out || out[0] == '*') return {};
  return out;
}

}  // namespace

bool Credentials::looks_like_bcrypt(std::string_view text) {
  if (text.size() != 60 || text[0] != '$' || text[1] != '2' || text[3] != '$' || text[6] != '$') return false;
  if (text[2] != 'a' && text[2] != 'b' && text[2] != 'y') return false;
  if (!std::isdigit(static_cast<unsigned char>(text[4])) || !std::isdigit(static_cast<unsigned char>(text[5])))
    return false;
  for (char c : text.substr(7))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '/') return false;
  return true;
}

Credentials::Credentials(std::string user, std::string password)
    : user_(std::move(user)), password_(std::move(password)), hashed_(looks_like_bcrypt(password_)) {
  if (user_.empty() != password_.empty())
    throw std::invalid_argument("admin_user and admin_password go together: set both, or neither");
  // Each login costs 2^cost rounds: past 17 (seconds per login) it is a mistake, not a setting.
  int cost = hashed_ ? (password_[4] - '0') * 10 + (password_[5] - '0') : 0;
  if (hashed_ && (cost < 4 || cost > 17 || bcrypt("", password_).empty()))
    throw std::invalid_argument("admin_password: this bcrypt hash cannot be used (its cost must be 04 to 17)");
}

bool Credentials::verify(std::string_view user, std::string_view password) const {
  if (!required()) return true;
  bool user_matches = same_text(user, user_);
  bool password_matches = hashed_ ? same_text(bcrypt(password, password_), password_) : same_text(password, password_);
  return user_matches && password_matches;
}

}  // namespace herald::admin
