// Socket.IO packets as socket.io-msgpack-parser writes them: each packet one msgpack map
// {type, nsp, data, id} in one binary Engine.IO message, binary values as msgpack bin (no
// attachments). Version 3 (socket.io-client 3/4, Engine.IO v4) sends every packet so; version 2
// (socket.io-client 2.x, Engine.IO v3) sends CONNECT, DISCONNECT and ERROR as JSON text instead.
// The msgpack itself is nlohmann::json's (to_msgpack/from_msgpack); this file only maps the
// packet's fields and checks them as the parser does. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "socketio/packet.hpp"

namespace herald::socketio {

// One message of a msgpack-parser client: msgpack bytes, or (version 2's control packets) JSON text.
struct MsgpackMessage {
  std::string bytes;
  bool text = false;
};

// Version 3's form. Binary event and ack types are written as plain event and ack, the only types
// version 3 accepts (the binary values travel inside).
std::string encode_msgpack(const Packet& packet);
// Version 2's form: JSON text for CONNECT, DISCONNECT and CONNECT_ERROR (whose data must be a
// string there), msgpack for the others.
MsgpackMessage encode_msgpack_v2(const Packet& packet);

// Decodes a binary message of a msgpack-parser client. nullopt, with `error` saying why, on bytes
// that are no msgpack, too deeply nested, or no valid packet. Binary event and ack types come out
// as plain event and ack. A msgpack `undefined` (notepack's fixext 1 of type 0) is null; a browser's
// ArrayBuffer (ext of type 0) is a plain binary value.
std::optional<Packet> decode_msgpack(std::string_view bytes, std::string& error);
// Decodes a text message of a version 2 client (its CONNECT, DISCONNECT and ERROR packets).
std::optional<Packet> decode_msgpack_v2_text(std::string_view text, std::string& error);

}  // namespace herald::socketio
