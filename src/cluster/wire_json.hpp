// JSON and msgpack pieces both wires share: payload decoding (JSON when it starts with '{', else
// msgpack, as the Node adapters decide; nesting checked first), targets, sockets and Herald's
// own answer fields.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cluster/adapter_messages.hpp"

namespace herald::cluster::wire_json {

using socketio::Json;

// Visits a message variant with one lambda per alternative.
template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// Discarded when malformed or nested deeper than any server sends.
Json decode_payload(std::string_view payload);
std::string to_msgpack(const Json& value);
std::string to_text(const Json& value);  // JSON, invalid UTF-8 replaced

// Strings of a JSON array (numbers as their text: Node allows numeric rooms).
std::vector<std::string> string_list(const Json& value);
// A string field, or its text for a number; empty when missing.
std::string id_field(const Json& object, const char* key);

Json target_to_json(const TargetSpec& target);
TargetSpec target_from_json(const Json& opts);

// The sockets of a fetchSockets answer (ids, or {id, handshake, rooms, data}).
Json sockets_to_json(const std::vector<socketio::SocketInfo>& sockets, bool ids_only);
std::vector<socketio::SocketInfo> sockets_from_json(const Json& sockets);

// Herald's `{socket, uid}` naming the socket behind an ack.
Json herald_socket(const socketio::SocketInfo& socket);
socketio::SocketInfo socket_from_herald(const Json& herald);

// A broadcast's count of sockets reached: `clientCount` from the answer's fields, and what a Herald
// node adds in `herald` (the users reached and the node itself). Both wires carry it so.
msg::ClientCount client_count(std::string request_id, const Json& fields, const Json& herald);
Json herald_count(const msg::ClientCount& count, const std::string& node);

}  // namespace herald::cluster::wire_json
