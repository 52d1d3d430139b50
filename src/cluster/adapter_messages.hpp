// What the nodes of a cluster say to each other, parsed once into typed messages. A wire
// (classic_wire: @socket.io/redis-adapter's classic pub/sub; sharded_wire: its sharded adapter)
// turns payloads into these and back; the adapter dispatches on the variant and never reads JSON
// fields itself. Targets stay as sent (rooms, except, flags) until the namespace rebuilds them.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "socketio/namespace.hpp"
#include "socketio/packet.hpp"
#include "socketio/recovery_offset.hpp"

namespace herald::cluster {

// Which sockets an operation from another node selects, as it was sent.
struct TargetSpec {
  std::vector<std::string> rooms;
  std::vector<std::string> except;
  socketio::Json flags = socketio::Json::object();
};

namespace msg {

// ---- requests and broadcasts ----

struct Broadcast {  // no acknowledgements
  socketio::Packet packet;
  TargetSpec target;
  std::string room_channel;  // set: it came on (or goes to) the channel of this one room
  // Herald's recovery stamp (connection state recovery); Node servers and emitters send none.
  std::optional<socketio::Stamp> stamp = std::nullopt;
};

struct BroadcastWithAck {
  std::string request_id;
  socketio::Packet packet;
  TargetSpec target;
  int64_t timeout_ms = 10000;
  // Herald requesters take many acks per answer, and the sockets that closed before acking.
  bool batch_acks = false;
};

struct RoomChange {
  bool join = true;
  TargetSpec target;
  std::vector<std::string> rooms;
  std::string request_id;  // set: the requester waits for an empty answer (one socket's change)
};

struct Disconnect {
  TargetSpec target;
  bool close = false;
  std::string request_id;
};

struct FetchSockets {
  std::string request_id;
  TargetSpec target;
  bool ids_only = false;  // the classic adapter's `sockets` request: ids, no details
};

struct AllRooms {
  std::string request_id;
};

struct ServerSideEmit {
  socketio::Json data = socketio::Json::array();  // [event, args...]
  std::string request_id;                         // set: every node answers
};

// ---- responses ----

struct ClientCount {
  std::string request_id;
  size_t count = 0;
  std::vector<std::string> users;  // Herald nodes name the users reached; Node servers only count
  std::string node;                // the Herald node that counted (empty from Node servers)
};

struct Acks {  // one client's ack, or a Herald node's batch of them
  std::string request_id;
  std::vector<std::pair<socketio::SocketInfo, socketio::Json>> acks;  // (who, the ack's argument)
  bool batch = false;                                                 // sent as a batch (to a Herald requester)
};

struct Dropped {  // a socket reached closed before acking (to Herald requesters only)
  std::string request_id;
  socketio::SocketInfo socket;
};

struct SocketsFound {
  std::string request_id;
  std::vector<socketio::SocketInfo> sockets;
  bool ids_only = false;  // answers FetchSockets::ids_only
};

struct RoomsFound {
  std::string request_id;
  std::vector<std::string> rooms;
};

struct ServerSideReply {
  std::string request_id;
  socketio::Json reply;
};

// An empty answer (to a single socket's room change).
struct Done {
  std::string request_id;
};

}  // namespace msg

using Body = std::variant<msg::Broadcast, msg::BroadcastWithAck, msg::RoomChange, msg::Disconnect, msg::FetchSockets,
                          msg::AllRooms, msg::ServerSideEmit, msg::ClientCount, msg::Acks, msg::Dropped,
                          msg::SocketsFound, msg::RoomsFound, msg::ServerSideReply, msg::Done>;

struct Message {
  std::string sender;  // the uid of the node that sent it (empty from an emitter)
  Body body;
};

// A payload to publish, and where.
struct Outgoing {
  std::string channel;
  std::string payload;
};

// Socket.IO packets as the Node adapters carry them: {type, data, nsp[, id]}.
std::optional<socketio::Packet> packet_from_json(const socketio::Json& json);

// A packet to send that way, and `heraldRaw` to carry next to it. In `packet`, raw JSON text in the
// data (a pushed message) is written as the value it holds: Node servers read the packet.
// `raw_texts` is [[index, text], ...] for the elements of the data that are raw JSON text, so
// another Herald node sends the bytes the backend sent (Node servers do not read it); null when
// there are none. Only the texts that their values would not give back byte for byte: a value is
// written again compact, keys in order, and most backends' texts are exactly that, so the message
// crosses once, not twice.
struct WirePacket {
  socketio::Json packet;
  socketio::Json raw_texts;  // null when there are none
};
WirePacket packet_for_wire(const socketio::Packet& packet);
// Puts those texts back into the data, each validated again (a malformed one leaves the value).
void restore_raw_texts(socketio::Packet& packet, const socketio::Json& raw_texts);

}  // namespace herald::cluster
