// @socket.io/redis-adapter's classic protocol (createAdapter) and @socket.io/redis-emitter's
// broadcasts. Channels (prefix "socket.io"): broadcasts on `<prefix>#<nsp>#` and
// `<prefix>#<nsp>#<room>#` (msgpack [uid, packet, opts]), taken by pattern; requests on
// `<prefix>-request#<nsp>#` and answers on `<prefix>-response#<nsp>#<requester uid>#` (JSON, or
// msgpack when not starting with '{'). Herald adds fields Node ignores: `herald` in requests and
// answers (batched acks, who acked, whom a broadcast reached).
#pragma once

#include "cluster/wire.hpp"

namespace herald::cluster {

// Request types of the classic protocol.
enum class RequestType : int {
  Sockets = 0,
  AllRooms = 1,
  RemoteJoin = 2,
  RemoteLeave = 3,
  RemoteDisconnect = 4,
  RemoteFetch = 5,
  ServerSideEmit = 6,
  Broadcast = 7,
  BroadcastClientCount = 8,
  BroadcastAck = 9,
};

class ClassicWire final : public Wire {
 public:
  ClassicWire(const std::string& prefix, const std::string& nsp, const std::string& uid);

  bool sharded() const override { return false; }
  std::vector<std::string> channels() const override;
  std::string pattern() const override { return channel_ + "*"; }
  std::string request_channel() const override { return request_channel_; }
  std::string counted_channel() const override { return request_channel_; }
  bool owns(std::string_view channel) const override;
  std::string broadcast_channel() const override { return channel_; }
  std::string room_channel(const std::string& room) const override { return channel_ + room + "#"; }

  Decoded decode(std::string_view channel, std::string_view payload, Message& out) const override;
  Outgoing encode(const std::string& sender, const Body& body) const override;
  Outgoing encode_response(const std::string& sender, const std::string& requester, const Body& body) const override;

 private:
  Decoded decode_broadcast(std::string_view payload, Message& out) const;
  Decoded decode_request(socketio::Json& request, Message& out) const;
  Decoded decode_response(socketio::Json& response, Message& out) const;

  std::string nsp_;
  std::string channel_;
  std::string request_channel_;
  std::string response_channel_;
  std::string own_response_channel_;
};

}  // namespace herald::cluster
