// The Engine.IO packets that carry a Socket.IO packet, in each encoding (socketio/encoding.hpp):
// the default parser's text packet and binary attachments, or socket.io-msgpack-parser's one
// message, each over Engine.IO v4 or v3. A broadcast is encoded once per encoding its recipients
// use (the others only when one of them is a recipient), and the recipients of one encoding share
// the same bytes.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engineio/packet.hpp"
#include "socketio/encoding.hpp"
#include "socketio/packet.hpp"

namespace herald::socketio {

using SharedPackets = std::shared_ptr<const std::vector<engineio::OutPacket>>;

// The default parser's form: the text packet, then one binary packet per attachment.
SharedPackets to_engine_packets(const Packet& packet, engineio::Protocol protocol = engineio::Protocol::V4);
// The packet in `encoding`.
SharedPackets to_engine_packets(const Packet& packet, Encoding encoding);
// The packet behind the default parser's v4 form (a broadcast kept by the recovery log); nullopt if
// those packets are not one whole packet.
std::optional<Packet> from_engine_packets(const std::vector<engineio::OutPacket>& packets);

// One broadcast's packets for every encoding; callable from any loop.
class ProtocolPackets {
 public:
  // `text`: what default-parser v4 sessions get; the other forms are made when first asked for.
  // Without the packet (the recovery log's entries), they are derived from `text`: the v3 form is
  // the same text with attachments in their v3 form, the msgpack form encodes the packet decoded
  // back from it.
  explicit ProtocolPackets(SharedPackets text) { forms_[index_of(Encoding::Text)] = std::move(text); }
  // With the packet as v3 sessions get it (no recovery offset: socket.io 2 had no recovery), and
  // `offset`, the recovery offset `text` carries as its last argument, if any.
  ProtocolPackets(SharedPackets text, Packet packet, std::optional<std::string> offset = std::nullopt)
      : source_(std::make_unique<const Source>(Source{std::move(packet), std::move(offset)})) {
    forms_[index_of(Encoding::Text)] = std::move(text);
  }
  const SharedPackets& get(Encoding encoding);

 private:
  SharedPackets make(Encoding encoding);

  struct Source {
    Packet packet;
    std::optional<std::string> offset;
  };
  std::array<SharedPackets, kEncodings> forms_;
  std::array<std::once_flag, kEncodings> made_;
  // Apart, so that the recovery log's entries, which have none, stay small.
  std::unique_ptr<const Source> source_;
};

// One loop's view of a broadcast's packets: for big fan-outs on a pool of several loops, a copy of
// its own (one reference count that every loop's core updates for each recipient costs more than
// one copy of the bytes per loop), made per encoding when a recipient first needs it.
class LoopPackets {
 public:
  LoopPackets(const std::shared_ptr<ProtocolPackets>& shared, size_t recipients, size_t loops)
      : shared_(shared), copy_(loops > 1 && recipients > kCopyAbove) {}
  const std::vector<engineio::OutPacket>& get(Encoding encoding);

 private:
  static constexpr size_t kCopyAbove = 32;
  const std::shared_ptr<ProtocolPackets>& shared_;
  bool copy_;
  std::array<SharedPackets, kEncodings> local_;
};

}  // namespace herald::socketio
