// The Admin UI's login: a user name and a password given in the clear or as a bcrypt hash
// ($2a$/$2b$/$2y$, as @socket.io/admin-ui wants it). A hash is checked by libxcrypt's crypt_rn,
// which takes tens of milliseconds by design: call verify() off the event loops.
#pragma once

#include <string>
#include <string_view>

namespace herald::admin {

class Credentials {
 public:
  // No user: no login asked (the caller warns). Throws std::invalid_argument when only one of the
  // two is set, or when a bcrypt hash cannot be used.
  Credentials(std::string user, std::string password);

  bool required() const { return !user_.empty(); }
  bool hashed() const { return hashed_; }
  const std::string& user() const { return user_; }
  // Whether `user` and `password` match, in time that does not depend on where they differ.
  bool verify(std::string_view user, std::string_view password) const;

  // A bcrypt hash as crypt(3) writes it: $2a$, $2b$ or $2y$, the cost, then 53 characters.
  static bool looks_like_bcrypt(std::string_view text);

 private:
  std::string user_;
  std::string password_;  // the clear password, or the hash
  bool hashed_ = false;
};

}  // namespace herald::admin
