#include "socketio/catch_up.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "net/transport_counters.hpp"
#include "socketio/socket.hpp"

namespace herald::socketio {

void catch_up(const Recovery& recovery, Socket& socket, const CameBack& came_back) {
  auto missed = recovery.missed_since(*came_back.offset, came_back.pid.empty());
  size_t sent = 0;
  for (const auto& entry : missed.entries) {
    if (!LoopSockets::selects(entry.target, socket)) continue;
    const auto& live = came_back.sent_live;
    if (entry.seq > socket.recovery_base() && std::find(live.begin(), live.end(), entry.seq) != live.end()) continue;
    socket.send_encoded(*entry.packets->get(socket.encoding()));
    ++sent;
  }
  // A broadcast logged by now and still on its way to this loop was in the catch-up if it was for it.
  socket.set_recovery_base(std::max(socket.recovery_base(), missed.head));
  auto& counter = missed.complete ? net::transport_counters().catch_ups : net::transport_counters().partial_catch_ups;
  counter.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("socket.io: socket {} came back from elsewhere: {} missed broadcasts sent{}", socket.id(), sent,
                missed.complete ? "" : " (some had left the log)");
}

}  // namespace herald::socketio
