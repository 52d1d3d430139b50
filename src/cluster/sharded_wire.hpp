// @socket.io/redis-adapter's sharded protocol (createShardedAdapter, Redis 7 sharded pub/sub:
// SSUBSCRIBE / SPUBLISH), which is socket.io-adapter's ClusterAdapter message format: objects
// {uid, nsp, type, data} (JSON, or msgpack when not starting with '{'). Everything travels on
// `<prefix>#<nsp>#`, except answers, on the requester's `<prefix>#<nsp>#<uid>#`, and broadcasts
// without acks to a single room, on that room's `<prefix>#<nsp>#<room>#` (subscriptionMode
// "dynamic": a server subscribes to the rooms it has sockets in). Herald's own fields (batched
// acks, who acked, whom a broadcast reached) ride in `data.herald`, which Node ignores.
#pragma once

#include "cluster/wire.hpp"

namespace herald::cluster {

// socket.io-adapter's ClusterAdapter message types.
enum class ClusterMessageType : int {
  InitialHeartbeat = 1,
  Heartbeat = 2,
  Broadcast = 3,
  SocketsJoin = 4,
  SocketsLeave = 5,
  DisconnectSockets = 6,
  FetchSockets = 7,
  FetchSocketsResponse = 8,
  ServerSideEmit = 9,
  ServerSideEmitResponse = 10,
  BroadcastClientCount = 11,
  BroadcastAck = 12,
  AdapterClose = 13,
};

class ShardedWire final : public Wire {
 public:
  ShardedWire(const std::string& prefix, const std::string& nsp, const std::string& uid);

  bool sharded() const override { return true; }
  std::vector<std::string> channels() const override { return {channel_, own_response_channel_}; }
  std::string pattern() const override { return {}; }
  std::string request_channel() const override { return {}; }
  std::string counted_channel() const override { return channel_; }
  bool owns(std::string_view channel) const override { return channel.starts_with(channel_); }
  std::string broadcast_channel() const override { return channel_; }
  std::string room_channel(const std::string& room) const override;

  Decoded decode(std::string_view channel, std::string_view payload, Message& out) const override;
  Outgoing encode(const std::string& sender, const Body& body) const override;
  Outgoing encode_response(const std::string& sender, const std::string& requester, const Body& body) const override;

 private:
  std::string nsp_;
  std::string channel_;
  std::string own_response_channel_;
};

}  // namespace herald::cluster
