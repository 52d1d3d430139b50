// Authenticated connections end with their token: a socket whose JWT has an `exp` is told
// `token_expiring({expiresAt})` a minute before (at once if less is left) and may send
// `refresh_token(token, ack)` with a fresh token for the same user; if none comes, at `exp` it is
// told `token_expired({message})` and disconnected by the server (socket.io-client then does not
// reconnect by itself: the application connects again with a new token).
// Per loop, one timer for all its sockets, armed at the earliest deadline: no timer per socket.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "push/clock.hpp"
#include "socketio/server.hpp"

namespace herald::push {

class TokenExpiry {
 public:
  using Clock = WallClock;
  static constexpr std::chrono::seconds kNotice{60};

  explicit TokenExpiry(socketio::Namespace& nsp);
  // On the socket's loop: the socket's token ends at `expires` (replacing what was tracked).
  void track(socketio::Socket& socket, Clock::time_point expires);
  // On the socket's loop: the socket is gone.
  void forget(const socketio::Socket& socket);

 private:
  struct Deadline {
    std::weak_ptr<socketio::Socket> socket;
    Clock::time_point expires;  // the token this deadline is for (a refresh makes it stale)
    bool notice;                // true: tell it; false: end it
  };
  struct Loop {
    std::multimap<Clock::time_point, Deadline> deadlines;
    std::unordered_map<std::string, Clock::time_point> expires;  // by socket id
    std::unique_ptr<boost::asio::steady_timer> timer;
    Clock::time_point armed_for = Clock::time_point::max();
  };
  void arm(size_t index);
  void fire(size_t index);

  socketio::Namespace& nsp_;
  std::vector<Loop> loops_;
};

}  // namespace herald::push
