#include "socketio/engine_packets.hpp"

namespace herald::socketio {

SharedPackets to_engine_packets(const Packet& packet, engineio::Protocol protocol) {
  auto encoded = encode(packet);
  auto packets = std::make_shared<std::vector<engineio::OutPacket>>();
  packets->reserve(1 + encoded.attachments.size());
  packets->push_back(engineio::make_text_packet(engineio::PacketType::Message, encoded.text));
  for (auto& attachment : encoded.attachments)
    packets->push_back(engineio::make_binary_packet(std::move(attachment), protocol));
  return packets;
}

const SharedPackets& ProtocolPackets::get(engineio::Protocol protocol) {
  if (protocol == engineio::Protocol::V4) return v4_;
  std::call_once(v3_once_, [this] {
    if (v3_packet_) {
      v3_ = to_engine_packets(*v3_packet_, engineio::Protocol::V3);
      v3_packet_.reset();
      return;
    }
    auto v3 = std::make_shared<std::vector<engineio::OutPacket>>();
    v3->reserve(v4_->size());
    for (const auto& packet : *v4_)
      v3->push_back(
          packet.binary && !packet.type_byte
              ? engineio::make_binary_packet(std::string(engineio::binary_data(packet)), engineio::Protocol::V3)
              : packet);
    v3_ = std::move(v3);
  });
  return v3_;
}

const std::vector<engineio::OutPacket>& LoopPackets::get(engineio::Protocol protocol) {
  auto& local = local_[protocol == engineio::Protocol::V3 ? 0 : 1];
  if (local) return *local;
  const SharedPackets& shared = shared_->get(protocol);
  if (!copy_) {
    local = shared;
    return *local;
  }
  auto copy = std::make_shared<std::vector<engineio::OutPacket>>();
  copy->reserve(shared->size());
  for (const auto& packet : *shared)
    copy->push_back(
        engineio::OutPacket{std::make_shared<const std::string>(*packet.bytes), packet.binary, packet.type_byte});
  local = std::move(copy);
  return *local;
}

}  // namespace herald::socketio
