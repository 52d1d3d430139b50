#include "push/token_expiry.hpp"

#include <spdlog/spdlog.h>

#include "push/clock.hpp"

namespace herald::push {

using socketio::Json;

TokenExpiry::TokenExpiry(socketio::Namespace& nsp) : nsp_(nsp), loops_(nsp.sockets().loop_count()) {}

void TokenExpiry::track(socketio::Socket& socket, Clock::time_point expires) {
  Loop& loop = loops_[socket.loop()];
  loop.expires[socket.id()] = expires;
  auto weak = socket.weak_from_this();
  loop.deadlines.emplace(std::max(Clock::now(), expires - kNotice), Deadline{weak, expires, true});
  loop.deadlines.emplace(expires, Deadline{weak, expires, false});
  arm(socket.loop());
}

void TokenExpiry::forget(const socketio::Socket& socket) {
  // Its deadlines find no socket (or a stale token) when they come: only the id is dropped here.
  loops_[socket.loop()].expires.erase(socket.id());
}

void TokenExpiry::arm(size_t index) {
  Loop& loop = loops_[index];
  if (loop.deadlines.empty()) return;
  auto first = loop.deadlines.begin()->first;
  if (first >= loop.armed_for) return;
  if (!loop.timer) loop.timer = std::make_unique<boost::asio::steady_timer>(nsp_.server().pool().loop(index));
  loop.armed_for = first;
  loop.timer->expires_after(std::max(Clock::duration::zero(), first - Clock::now()));
  loop.timer->async_wait([this, index](const boost::system::error_code& ec) {
    if (!ec) fire(index);
  });
}

void TokenExpiry::fire(size_t index) {
  Loop& loop = loops_[index];
  loop.armed_for = Clock::time_point::max();
  auto now = Clock::now();
  while (!loop.deadlines.empty() && loop.deadlines.begin()->first <= now) {
    Deadline deadline = std::move(loop.deadlines.begin()->second);
    loop.deadlines.erase(loop.deadlines.begin());
    auto socket = deadline.socket.lock();
    if (!socket || !socket->connected()) continue;
    auto current = loop.expires.find(socket->id());
    if (current == loop.expires.end() || current->second != deadline.expires) continue;  // refreshed
    if (deadline.notice) {
      socket->emit("token_expiring", Json::array({Json{{"expiresAt", epoch_ms(deadline.expires)}}}));
      continue;
    }
    spdlog::debug("push: socket {} disconnected: its token expired", socket->id());
    loop.expires.erase(current);
    socket->emit("token_expired", Json::array({Json{{"message", "the token expired: connect again with a new one"}}}));
    socket->disconnect();
  }
  arm(index);
}

}  // namespace herald::push
