// socket.io-msgpack-parser's packets (socketio/msgpack_packet) and a broadcast's forms per encoding
// (socketio/engine_packets). The msgpack bytes below are what the parser's Encoder (notepack.io)
// writes for the same packets in Node.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "socketio/engine_packets.hpp"
#include "socketio/msgpack_packet.hpp"

namespace herald::socketio {
namespace socketio_msgpack_test {

using namespace std::string_literals;

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int value : values) out += static_cast<char>(value);
  return out;
}

Packet decode_ok(std::string_view input) {
  std::string error;
  auto packet = decode_msgpack(input, error);
  EXPECT_TRUE(packet.has_value()) << error;
  return packet.value_or(Packet{});
}

std::string refusal(std::string_view input) {
  std::string error;
  auto packet = decode_msgpack(input, error);
  EXPECT_FALSE(packet.has_value());
  return error;
}

Json bin(std::vector<uint8_t> data) { return Json::binary(std::move(data)); }

TEST(MsgpackPacket, DecodesTheClientsConnectWithUndefinedData) {
  // {type: 0, nsp: "/", data: undefined}: notepack writes undefined as fixext 1 of type 0.
  auto packet = decode_ok(bytes({0x83, 0xa4, 't',  'y', 'p', 'e', 0x00, 0xa3, 'n',  's', 'p',
                                 0xa1, '/',  0xa4, 'd', 'a', 't', 'a',  0xd4, 0x00, 0x00}));
  EXPECT_EQ(packet.type, PacketType::Connect);
  EXPECT_EQ(packet.nsp, "/");
  EXPECT_TRUE(packet.data.is_null());
  EXPECT_FALSE(packet.id);
}

TEST(MsgpackPacket, EventWithBinaryAndUnknownFields) {
  // {type: 2, nsp: "/chat", id: 7, options: {compress: true}, data: ["up", <bin 1 2>, <ArrayBuffer 3>]}
  Json map = {{"type", 2}, {"nsp", "/chat"}, {"id", 7}, {"options", {{"compress", true}}}};
  map["data"] = Json::array({"up", bin({1, 2}), Json::binary({3}, 0)});
  std::string encoded;
  Json::to_msgpack(map, encoded);
  auto packet = decode_ok(encoded);
  EXPECT_EQ(packet.type, PacketType::Event);
  EXPECT_EQ(packet.nsp, "/chat");
  EXPECT_EQ(packet.id, 7u);
  ASSERT_EQ(packet.data.size(), 3u);
  EXPECT_EQ(packet.data[1], bin({1, 2}));
  EXPECT_FALSE(packet.data[2].get_binary().has_subtype()) << "an ArrayBuffer is plain binary";
  EXPECT_EQ(packet.data[2], bin({3}));
}

TEST(MsgpackPacket, BinaryTypesOfVersion2ComeOutPlain) {
  Json map = {{"type", 6}, {"nsp", "/"}, {"id", 1}, {"data", Json::array({bin({9})})}};
  std::string encoded;
  Json::to_msgpack(map, encoded);
  EXPECT_EQ(decode_ok(encoded).type, PacketType::Ack);
}

TEST(MsgpackPacket, EncodesAsTheParserDoes) {
  Packet packet{PacketType::BinaryEvent, "/", std::nullopt, Json::array({"b", bin({1})})};
  Json map = Json::from_msgpack(encode_msgpack(packet));
  EXPECT_EQ(map["type"], 2) << "version 3 knows no binary types";
  EXPECT_EQ(map["nsp"], "/");
  EXPECT_FALSE(map.contains("id"));
  EXPECT_EQ(map["data"][1], bin({1}));
  Packet answer{PacketType::Connect, "/", std::nullopt, Json{{"sid", "abc"}}};
  EXPECT_EQ(Json::from_msgpack(encode_msgpack(answer))["data"]["sid"], "abc");
  Packet ack{PacketType::Ack, "/x", 12, Json::array()};
  auto decoded = decode_ok(encode_msgpack(ack));
  EXPECT_EQ(decoded.id, 12u);
  EXPECT_EQ(decoded.nsp, "/x");
}

TEST(MsgpackPacket, RefusesWhatTheParserRefuses) {
  auto encode_map = [](const Json& map) {
    std::string out;
    Json::to_msgpack(map, out);
    return out;
  };
  EXPECT_EQ(refusal(encode_map(Json::array({2, "/"}))), "packet is not a map");
  EXPECT_EQ(refusal(encode_map({{"type", 9}, {"nsp", "/"}})), "invalid packet type");
  EXPECT_EQ(refusal(encode_map({{"type", "2"}, {"nsp", "/"}})), "invalid packet type");
  EXPECT_EQ(refusal(encode_map({{"type", 2}, {"data", Json::array({"x"})}})), "invalid namespace");
  EXPECT_EQ(refusal(encode_map({{"type", 2}, {"nsp", "chat"}, {"data", Json::array({"x"})}})), "invalid namespace");
  EXPECT_EQ(refusal(encode_map({{"type", 2}, {"nsp", "/"}, {"id", -1}, {"data", Json::array({"x"})}})),
            "invalid packet id");
  EXPECT_EQ(refusal(encode_map({{"type", 2}, {"nsp", "/"}, {"data", "x"}})), "invalid payload");
  EXPECT_EQ(refusal(encode_map({{"type", 2}, {"nsp", "/"}, {"data", Json::array({"connect"})}})), "invalid payload");
  EXPECT_EQ(refusal(encode_map({{"type", 1}, {"nsp", "/"}, {"data", Json::array()}})), "invalid payload");
  EXPECT_EQ(refusal(bytes({0x83, 0xa4, 't', 'y'})), "invalid msgpack");  // truncated
  EXPECT_EQ(refusal(""), "invalid msgpack");
  std::string deep(10000, static_cast<char>(0x91));  // arrays of one, nested 10000 deep
  EXPECT_EQ(
      refusal(bytes({0x83, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa3, 'n', 's', 'p', 0xa1, '/', 0xa4, 'd', 'a', 't', 'a'}) +
              deep + "\xc0"s),
      "payload nested too deeply");
}

TEST(MsgpackPacket, Version2ControlPacketsAreJsonText) {
  auto connect = encode_msgpack_v2(Packet{PacketType::Connect, "/", std::nullopt, nullptr});
  EXPECT_TRUE(connect.text);
  EXPECT_EQ(Json::parse(connect.bytes), (Json{{"type", 0}, {"nsp", "/"}}));
  auto error = encode_msgpack_v2(Packet{PacketType::ConnectError, "/a", std::nullopt, Json{{"message", "no"}}});
  EXPECT_EQ(Json::parse(error.bytes)["data"], "no") << "version 2 takes a string only";
  auto event = encode_msgpack_v2(Packet{PacketType::Event, "/", std::nullopt, Json::array({"e"})});
  EXPECT_FALSE(event.text);
  std::string why;
  auto packet = decode_msgpack_v2_text(R"({"type":0,"nsp":"/chat?x=1","query":"x=1"})", why);
  ASSERT_TRUE(packet) << why;
  EXPECT_EQ(packet->nsp, "/chat?x=1");
  EXPECT_FALSE(decode_msgpack_v2_text(R"({"type":2,"nsp":"/","data":["e"]})", why)) << "events come as msgpack";
  EXPECT_FALSE(decode_msgpack_v2_text("0", why));
}

TEST(ProtocolPackets, EveryEncodingFromOneBroadcast) {
  Packet packet{PacketType::Event, "/", std::nullopt, Json::array({"news", bin({1, 2})})};
  Packet with_offset = packet;
  with_offset.data.push_back("off-1");
  ProtocolPackets forms(to_engine_packets(with_offset), packet, "off-1");

  const auto& text = *forms.get(Encoding::Text);
  ASSERT_EQ(text.size(), 2u);
  EXPECT_EQ(*text[0].bytes, R"(451-["news",{"_placeholder":true,"num":0},"off-1"])");

  const auto& text_v3 = *forms.get(Encoding::TextV3);
  ASSERT_EQ(text_v3.size(), 2u);
  EXPECT_EQ(*text_v3[0].bytes, R"(451-["news",{"_placeholder":true,"num":0}])") << "v3 gets no offset";
  EXPECT_TRUE(text_v3[1].type_byte);

  const auto& msgpack = *forms.get(Encoding::Msgpack);
  ASSERT_EQ(msgpack.size(), 1u);
  EXPECT_TRUE(msgpack[0].binary);
  auto decoded = decode_ok(*msgpack[0].bytes);
  EXPECT_EQ(decoded.data, with_offset.data);

  const auto& msgpack_v3 = *forms.get(Encoding::MsgpackV3);
  ASSERT_EQ(msgpack_v3.size(), 1u);
  EXPECT_TRUE(msgpack_v3[0].type_byte);
  EXPECT_EQ(decode_ok(engineio::binary_data(msgpack_v3[0])).data, packet.data);

  // Asked again: the same bytes, not a second encoding.
  EXPECT_EQ(forms.get(Encoding::Msgpack).get(), &msgpack);

  // The recovery log keeps only the text: its msgpack form is the packet decoded back from it.
  ProtocolPackets logged(forms.get(Encoding::Text));
  EXPECT_EQ(*(*logged.get(Encoding::Msgpack))[0].bytes, *msgpack[0].bytes);
}

TEST(ProtocolPackets, ServerEventsWithReservedNamesSurviveTheRoundTrip) {
  Packet packet{PacketType::Event, "/", std::nullopt, Json::array({"disconnect", 1})};
  ProtocolPackets logged(to_engine_packets(packet));
  const auto& msgpack = *logged.get(Encoding::Msgpack);
  ASSERT_EQ(msgpack.size(), 1u);
  EXPECT_EQ(Json::from_msgpack(*msgpack[0].bytes)["data"], packet.data);
}

}  // namespace socketio_msgpack_test
}  // namespace herald::socketio
