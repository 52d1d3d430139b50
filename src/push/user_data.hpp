// The user a socket is logged in as: push's data on a socket (socketio::SocketData), attached at
// login and dropped at logout, and the helpers that read it from a socket, a reach report or a
// recovery session. Other nodes see it in the socket's data as `uid` and `seq`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "socketio/namespace.hpp"
#include "socketio/recovery.hpp"
#include "socketio/socket.hpp"

namespace herald::push {

// One login: the user id and the login's sequence number (newer logins have larger ones on every
// node; 0 for a socket another node reported). The id is stored after the object, in the same
// allocation: for ids of up to 16 characters one 48-byte block, which the Socket saves by holding
// a pointer instead of the user's two fields, so a logged-in socket costs what it did then.
class UserData final : public socketio::SocketData {
 public:
  using Ptr = boost::intrusive_ptr<const UserData>;
  // Null for an empty uid: no user.
  static Ptr make(std::string_view uid, uint64_t seq);

  std::string_view uid() const { return {chars(), length_}; }
  uint64_t seq() const { return seq_; }
  // `uid` and `seq`, as Herald has always reported a logged-in socket.
  void report(socketio::Json& data) const override;

  // Frees what make() allocated (the object and the id after it).
  static void operator delete(void* object) noexcept;

 private:
  UserData(uint32_t length, uint64_t seq) : length_(length), seq_(seq) {}
  const char* chars() const { return reinterpret_cast<const char*>(this + 1); }

  uint32_t length_;  // fills the base's tail padding (after its 4-byte count)
  uint64_t seq_;
};

// The user of a socket, of a socket a broadcast reached (here or on another node) or of a dropped
// socket's session; empty when not logged in.
inline std::string_view user_of(const socketio::SocketDataPtr& attached) {
  const auto* user = socketio::attached_as<UserData>(attached);
  return user ? user->uid() : std::string_view{};
}
inline std::string_view user_of(const socketio::Socket& socket) { return user_of(socket.attached()); }
inline std::string_view user_of(const socketio::SocketInfo& socket) { return user_of(socket.attached); }
inline std::string_view user_of(const socketio::RecoveredSession& session) { return user_of(session.attached); }
// The login's sequence number; 0 when not logged in.
inline uint64_t login_seq_of(const socketio::Socket& socket) {
  const auto* user = socket.attached_as<UserData>();
  return user ? user->seq() : 0;
}

// Sets and maps keyed by user id that are looked up with a user_of() view, without a copy.
struct UidHash {
  using is_transparent = void;
  size_t operator()(std::string_view uid) const noexcept { return std::hash<std::string_view>{}(uid); }
};
using UidSet = std::unordered_set<std::string, UidHash, std::equal_to<>>;
template <class Value>
using UidMap = std::unordered_map<std::string, Value, UidHash, std::equal_to<>>;

}  // namespace herald::push
