#include "push/push_filter.hpp"

#include <memory>

#include "push/user_data.hpp"

namespace herald::push {

using socketio::Json;
using socketio::Socket;

std::function<bool(const Socket&)> push_filter(const Json& flags, const std::vector<std::string>& rooms) {
  auto kind = flags.find("heraldFilter");
  if (kind == flags.end() || !kind->is_string()) return nullptr;
  if (*kind == "users") {
    // A user's own room holds only that user's sockets, but a backend room may share its name.
    auto users = std::make_shared<UidSet>(rooms.begin(), rooms.end());
    return [users](const Socket& socket) { return users->contains(user_of(socket)); };
  }
  if (*kind == "loggedIn") {
    if (rooms.empty()) return [](const Socket& socket) { return !user_of(socket).empty(); };
    // A user's own room is named after the user: a user whose id is a room's name is in that room
    // only as itself, so room pushes do not reach it through its name.
    auto targets = std::make_shared<std::vector<std::string>>(rooms);
    return [targets](const Socket& socket) {
      std::string_view uid = user_of(socket);
      if (uid.empty()) return false;
      for (const auto& room : *targets)
        if (room != uid && socket.in_room(room)) return true;
      return false;
    };
  }
  return nullptr;
}

}  // namespace herald::push
