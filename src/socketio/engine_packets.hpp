// The Engine.IO packets that carry a Socket.IO packet, in the form of each Engine.IO protocol. A
// broadcast is encoded once per protocol its recipients speak (the v3 form only when one of them
// is a socket.io-client 2.x), and the recipients of one protocol share the same bytes.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "engineio/packet.hpp"
#include "socketio/packet.hpp"

namespace herald::socketio {

using SharedPackets = std::shared_ptr<const std::vector<engineio::OutPacket>>;

// The text packet, then one binary packet per attachment.
SharedPackets to_engine_packets(const Packet& packet, engineio::Protocol protocol = engineio::Protocol::V4);

// One broadcast's packets for every protocol; callable from any loop.
class ProtocolPackets {
 public:
  // `v4`: what v4 sessions get. The v3 form, made when first asked for, is derived from it (the
  // same text; attachments with their type byte), or encoded from `v3_packet` when the packet
  // differs for v3 (a recovery offset, which socket.io 2 never had).
  explicit ProtocolPackets(SharedPackets v4) : v4_(std::move(v4)) {}
  ProtocolPackets(SharedPackets v4, Packet v3_packet) : v4_(std::move(v4)), v3_packet_(std::move(v3_packet)) {}
  const SharedPackets& get(engineio::Protocol protocol);

 private:
  SharedPackets v4_;
  std::optional<Packet> v3_packet_;
  std::once_flag v3_once_;
  SharedPackets v3_;
};

// One loop's view of a broadcast's packets: for big fan-outs on a pool of several loops, a copy of
// its own (one reference count that every loop's core updates for each recipient costs more than
// one copy of the bytes per loop), made per protocol when a recipient first needs it.
class LoopPackets {
 public:
  LoopPackets(const std::shared_ptr<ProtocolPackets>& shared, size_t recipients, size_t loops)
      : shared_(shared), copy_(loops > 1 && recipients > kCopyAbove) {}
  const std::vector<engineio::OutPacket>& get(engineio::Protocol protocol);

 private:
  static constexpr size_t kCopyAbove = 32;
  const std::shared_ptr<ProtocolPackets>& shared_;
  bool copy_;
  std::array<SharedPackets, 2> local_;  // v3, v4
};

}  // namespace herald::socketio
