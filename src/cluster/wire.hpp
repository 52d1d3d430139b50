// How one namespace's cluster messages travel through Redis: which channels carry them, and how
// they are encoded. Two wires speak @socket.io/redis-adapter's two protocols: ClassicWire (classic
// pub/sub, createAdapter) and ShardedWire (Redis 7 sharded pub/sub, createShardedAdapter).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cluster/adapter_messages.hpp"

namespace herald::cluster {

class Wire {
 public:
  enum class Decoded : uint8_t { Ok, Malformed, Ignored };

  virtual ~Wire() = default;

  // Sharded pub/sub (SSUBSCRIBE / SPUBLISH / PUBSUB SHARDNUMSUB), or classic.
  virtual bool sharded() const = 0;
  // Channels to subscribe to for the whole life of the node.
  virtual std::vector<std::string> channels() const = 0;
  // A pattern to subscribe to as well (classic broadcasts); empty when none.
  virtual std::string pattern() const = 0;
  // The channel a node leaves while it cannot publish answers (so that requesters neither count
  // it nor wait for it); empty when requests share a channel with broadcasts.
  virtual std::string request_channel() const = 0;
  // The channel every server of the namespace subscribes to, counted to know how many there are.
  virtual std::string counted_channel() const = 0;
  virtual bool owns(std::string_view channel) const = 0;
  // The channel of broadcasts to the whole namespace.
  virtual std::string broadcast_channel() const = 0;
  // The channel a one-room broadcast from another server may come on; empty when none.
  virtual std::string room_channel(const std::string& room) const = 0;

  // A payload from one of its channels, into `out`.
  virtual Decoded decode(std::string_view channel, std::string_view payload, Message& out) const = 0;
  // A request or broadcast from this node (`sender`) to the others.
  virtual Outgoing encode(const std::string& sender, const Body& body) const = 0;
  // An answer from this node to the node `requester` asked with.
  virtual Outgoing encode_response(const std::string& sender, const std::string& requester, const Body& body) const = 0;
};

}  // namespace herald::cluster
