// Sockets and times in the shapes @socket.io/admin-ui's UI reads (its SerializedSocket, and
// JavaScript's Date as JSON writes it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "socketio/namespace.hpp"
#include "socketio/socket.hpp"

namespace herald::admin {

using Json = socketio::Json;

// Milliseconds since the epoch, now.
int64_t now_ms();
// 2026-12-04T03:12:27.123Z, as JSON.stringify writes a Date.
std::string iso_time(int64_t ms);

// What serializing a socket of this process needs besides the socket.
struct SocketContext {
  int64_t connected_ms;   // when it connected (handshake.issued)
  bool secure;            // the port speaks TLS
  std::string_view path;  // the Engine.IO path, for handshake.url
};

// {id, clientId, transport, nsp, data, handshake, rooms}; on the socket's loop.
Json serialize(socketio::Socket& socket, const SocketContext& context);
// The same for a socket another node reported (fetchSockets). A Node server running the Admin UI
// reports its clientId and transport in data._admin; a Herald node reports the transport in its
// handshake and no clientId (the socket id stands in) nor connection time (now stands in).
Json serialize(socketio::SocketInfo& socket, const std::string& nsp);

// The clientId the UI groups a client's sockets by, from its Engine.IO session id.
std::string client_id(std::string_view session_id);

// A query string as an object of its decoded values (the first of repeated keys).
Json query_object(std::string_view query);

}  // namespace herald::admin
