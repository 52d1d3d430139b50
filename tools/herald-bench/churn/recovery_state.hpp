// The client side of Socket.IO connection state recovery, kept exactly as socket.io-client 4.6+
// keeps it (socket.js: _sendConnectPacket, onconnect, onevent/emitEvent), so that the tool sees
// what a real client would: the server's private session id (pid) from the CONNECT answer, the
// offset of the last event the application handled, and both sent back on reconnection.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace herald::bench {

class RecoveryState {
 public:
  // The CONNECT packet (after the Engine.IO '4'): `0`, the namespace unless it is "/", and the
  // auth: with a pid {"pid","offset" (left out when none),...own auth}, else the own auth alone
  // (nothing when it is null).
  std::string connect_packet(std::string_view nsp, const nlohmann::ordered_json& own_auth) const;

  // Takes the data of the server's CONNECT answer ({"sid","pid"?}). True when the session was
  // recovered: the answer's pid equals the one held before. The answer's pid (or none) is kept.
  bool on_connect_answer(const nlohmann::json& data);

  // Called when the application handles an event, in order, with the packet's arguments.
  // socket.io-client appends the ack callback to the arguments of an event that carries an ack
  // id, so such an event never has a string last argument and never moves the offset.
  void on_event(const nlohmann::json& args, bool has_ack_id);

  const std::optional<std::string>& pid() const { return pid_; }
  const std::optional<std::string>& offset() const { return offset_; }

 private:
  std::optional<std::string> pid_;
  std::optional<std::string> offset_;  // kept when a new session starts, as socket.io-client does
};

}  // namespace herald::bench
