// The seam through which a server tells one watcher (the Admin UI, src/admin) what happens in all
// its namespaces: sessions and sockets coming and going, rooms, transports and events. Without a
// watcher (the default) each place that would tell it tests one pointer and goes on, and no
// connection carries anything more for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "socketio/packet.hpp"
#include "socketio/types.hpp"

namespace herald::socketio {

class Socket;

// Every call comes on the loop of the session or socket it is about.
class ServerObserver {
 public:
  virtual ~ServerObserver() = default;
  // An Engine.IO session ended.
  virtual void session_closed(size_t loop, DisconnectReason reason) = 0;
  virtual void socket_connected(Socket& socket) = 0;
  // Its rooms are gone already (room_left told each).
  virtual void socket_disconnected(Socket& socket, DisconnectReason reason) = 0;
  // The socket's session moved from long-polling to WebSocket.
  virtual void socket_upgraded(Socket& socket) = 0;
  virtual void room_joined(Socket& socket, const std::string& room) = 0;
  virtual void room_left(Socket& socket, const std::string& room) = 0;
  // An event from the client: the event's name first, then its arguments (no ack).
  virtual void event_received(Socket& socket, const Json& event_and_args) = 0;
  // An event emitted to this socket alone (Socket::emit), not a broadcast.
  virtual void event_sent(Socket& socket, std::string_view event, const Json& args) = 0;
};

// What went through one loop while a watcher is set, counted by that loop alone (no atomics; a
// line of its own so that loops do not share one). The watcher reads and resets it on that loop.
struct alignas(64) LoopTraffic {
  uint64_t sessions_opened = 0;
  uint64_t packets_in = 0;
  uint64_t bytes_in = 0;
  uint64_t packets_out = 0;
  uint64_t bytes_out = 0;
};

}  // namespace herald::socketio
