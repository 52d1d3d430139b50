#include "socketio/engine_packets.hpp"

#include "socketio/msgpack_packet.hpp"

namespace herald::socketio {
namespace {

// The same packets with their binary ones in `protocol`'s form.
SharedPackets in_protocol(const std::vector<engineio::OutPacket>& packets, engineio::Protocol protocol) {
  bool v3 = protocol == engineio::Protocol::V3;
  auto converted = std::make_shared<std::vector<engineio::OutPacket>>();
  converted->reserve(packets.size());
  for (const auto& packet : packets)
    converted->push_back(packet.binary && packet.type_byte != v3
                             ? engineio::make_binary_packet(std::string(engineio::binary_data(packet)), protocol)
                             : packet);
  return converted;
}

}  // namespace

SharedPackets to_engine_packets(const Packet& packet, engineio::Protocol protocol) {
  auto encoded = encode(packet);
  auto packets = std::make_shared<std::vector<engineio::OutPacket>>();
  packets->reserve(1 + encoded.attachments.size());
  packets->push_back(engineio::make_text_packet(engineio::PacketType::Message, encoded.text));
  for (auto& attachment : encoded.attachments)
    packets->push_back(engineio::make_binary_packet(std::move(attachment), protocol));
  return packets;
}

SharedPackets to_engine_packets(const Packet& packet, Encoding encoding) {
  engineio::Protocol protocol = protocol_of(encoding);
  if (parser_of(encoding) == Parser::Default) return to_engine_packets(packet, protocol);
  auto packets = std::make_shared<std::vector<engineio::OutPacket>>();
  if (protocol == engineio::Protocol::V3) {
    auto message = encode_msgpack_v2(packet);
    packets->push_back(message.text ? engineio::make_text_packet(engineio::PacketType::Message, message.bytes)
                                    : engineio::make_binary_packet(std::move(message.bytes), protocol));
  } else {
    packets->push_back(engineio::make_binary_packet(encode_msgpack(packet), protocol));
  }
  return packets;
}

std::optional<Packet> from_engine_packets(const std::vector<engineio::OutPacket>& packets) {
  if (packets.empty() || packets[0].binary) return std::nullopt;
  // Server-made packets: no limit on attachments, and event names are not a client's to check.
  Decoder decoder(packets.size(), false);
  std::string_view text = *packets[0].bytes;
  auto status = decoder.add_text(text.substr(1));  // after the Engine.IO type digit
  for (size_t i = 1; i < packets.size() && status == Decoder::Status::NeedAttachment; ++i)
    status = decoder.add_binary(engineio::binary_data(packets[i]));
  if (status != Decoder::Status::Complete) return std::nullopt;
  return decoder.take();
}

const SharedPackets& ProtocolPackets::get(Encoding encoding) {
  size_t index = index_of(encoding);
  if (encoding == Encoding::Text) return forms_[index];
  std::call_once(made_[index], [this, encoding, index] { forms_[index] = make(encoding); });
  return forms_[index];
}

SharedPackets ProtocolPackets::make(Encoding encoding) {
  const auto& text = *forms_[index_of(Encoding::Text)];
  const Packet* packet = source_ ? &source_->packet : nullptr;
  const std::optional<std::string>* offset = source_ ? &source_->offset : nullptr;
  switch (encoding) {
    case Encoding::Text:
      break;
    case Encoding::TextV3:
      // The same text, unless the v4 text carries an offset v3 must not get.
      if (packet && *offset) return to_engine_packets(*packet, engineio::Protocol::V3);
      return in_protocol(text, engineio::Protocol::V3);
    case Encoding::Msgpack: {
      if (packet) {
        if (!*offset) return to_engine_packets(*packet, Encoding::Msgpack);
        Packet with_offset{packet->type, packet->nsp, packet->id, packet->data};
        with_offset.data.push_back(**offset);
        return to_engine_packets(with_offset, Encoding::Msgpack);
      }
      auto decoded = from_engine_packets(text);
      return decoded ? to_engine_packets(*decoded, Encoding::Msgpack)
                     : std::make_shared<std::vector<engineio::OutPacket>>();
    }
    case Encoding::MsgpackV3:
      if (packet) return to_engine_packets(*packet, Encoding::MsgpackV3);
      return in_protocol(*get(Encoding::Msgpack), engineio::Protocol::V3);
  }
  return forms_[index_of(Encoding::Text)];
}

const std::vector<engineio::OutPacket>& LoopPackets::get(Encoding encoding) {
  auto& local = local_[index_of(encoding)];
  if (local) return *local;
  const SharedPackets& shared = shared_->get(encoding);
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
