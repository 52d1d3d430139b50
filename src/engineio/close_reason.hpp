// Why a session or a socket ended: socket.io's disconnect reasons as a type. Every layer passes
// the enum; its text form (to_string) is socket.io's, as its "disconnect" handlers and the Admin UI
// know them. Engine.IO gives the first five; the Socket.IO layer closes sessions for the others and
// gets them back through the session's on_close.
#pragma once

#include <cstdint>
#include <string_view>

namespace herald::engineio {

enum class CloseReason : uint8_t {
  TransportClose,             // the client closed the connection (or the transport went away)
  TransportError,             // the transport failed: a write error, a slow client's overflow, a bad request
  PingTimeout,                // no pong (v4) or ping (v3) in time
  ParseError,                 // the client sent what the protocol does not allow
  ForcedClose,                // the server closed the session
  ServerShuttingDown,         // Socket.IO: the server closes every connection
  ForcedServerClose,          // Socket.IO: the application disconnected a socket and closed its connection
  ClientNamespaceDisconnect,  // Socket.IO: the client left the namespace
  ServerNamespaceDisconnect,  // Socket.IO: the application disconnected the socket
  ConnectTimeout,             // Socket.IO: no namespace joined within connectTimeout
};

constexpr std::string_view to_string(CloseReason reason) {
  switch (reason) {
    case CloseReason::TransportClose:
      return "transport close";
    case CloseReason::TransportError:
      return "transport error";
    case CloseReason::PingTimeout:
      return "ping timeout";
    case CloseReason::ParseError:
      return "parse error";
    case CloseReason::ForcedClose:
      return "forced close";
    case CloseReason::ServerShuttingDown:
      return "server shutting down";
    case CloseReason::ForcedServerClose:
      return "forced server close";
    case CloseReason::ClientNamespaceDisconnect:
      return "client namespace disconnect";
    case CloseReason::ServerNamespaceDisconnect:
      return "server namespace disconnect";
    case CloseReason::ConnectTimeout:
      return "connect timeout";
  }
  return "unknown";
}

}  // namespace herald::engineio
