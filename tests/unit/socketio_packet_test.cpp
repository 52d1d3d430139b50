// Socket.IO v5 packet codec: `<type>[<attachments>-][<nsp>,][<ackId>][JSON]`, binary attachments as
// placeholders. One test per protocol rule; the expected strings are the ones of the protocol documentation.
#include "socketio/packet.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace herald::socketio {
namespace socketio_packet_test {

using namespace std::string_literals;
using Status = Decoder::Status;

Json bin(std::string_view bytes) { return Json::binary(std::vector<uint8_t>(bytes.begin(), bytes.end())); }

Packet make(PacketType type, std::string nsp, std::optional<uint64_t> id, Json data) {
  Packet packet;
  packet.type = type;
  packet.nsp = std::move(nsp);
  packet.id = id;
  packet.data = std::move(data);
  return packet;
}

// Decodes one text packet that must complete on its own.
Packet decode_ok(std::string_view text) {
  Decoder decoder;
  Status status = decoder.add_text(text);
  EXPECT_EQ(status, Status::Complete) << text << ": " << decoder.error();
  return decoder.take();
}

// True if the text packet is refused outright.
bool refused(std::string_view text) {
  Decoder decoder;
  Status status = decoder.add_text(text);
  if (status == Status::Error) {
    EXPECT_FALSE(decoder.error().empty());
  }
  return status == Status::Error;
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

TEST(SocketioEncode, ConnectReplyDefaultNamespace) {
  auto out = encode(make(PacketType::Connect, "/", std::nullopt, {{"sid", "oSO0OpakMV_3jnilAAAA"}}));
  EXPECT_EQ(out.text, R"(0{"sid":"oSO0OpakMV_3jnilAAAA"})");
  EXPECT_TRUE(out.attachments.empty());
}

TEST(SocketioEncode, ConnectReplyCustomNamespaceIsFollowedByComma) {
  auto out = encode(make(PacketType::Connect, "/admin", std::nullopt, {{"sid", "oSO0OpakMV_3jnilAAAA"}}));
  EXPECT_EQ(out.text, R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})");
}

TEST(SocketioEncode, ConnectWithoutPayload) {
  EXPECT_EQ(encode(make(PacketType::Connect, "/", std::nullopt, nullptr)).text, "0");
  EXPECT_EQ(encode(make(PacketType::Connect, "/admin", std::nullopt, nullptr)).text, "0/admin,");
}

TEST(SocketioEncode, DisconnectHasNoPayload) {
  EXPECT_EQ(encode(make(PacketType::Disconnect, "/", std::nullopt, nullptr)).text, "1");
  EXPECT_EQ(encode(make(PacketType::Disconnect, "/admin", std::nullopt, nullptr)).text, "1/admin,");
}

TEST(SocketioEncode, EventDefaultNamespace) {
  auto out = encode(make(PacketType::Event, "/", std::nullopt, Json::array({"hello", 1})));
  EXPECT_EQ(out.text, R"(2["hello",1])");
  EXPECT_TRUE(out.attachments.empty());
}

TEST(SocketioEncode, EventWithNamespaceAndAckId) {
  auto out = encode(make(PacketType::Event, "/admin", 456, Json::array({"project:delete", 123})));
  EXPECT_EQ(out.text, R"(2/admin,456["project:delete",123])");
}

TEST(SocketioEncode, EventWithAckIdDefaultNamespace) {
  EXPECT_EQ(encode(make(PacketType::Event, "/", 12, Json::array({"foo"}))).text, R"(212["foo"])");
  EXPECT_EQ(encode(make(PacketType::Event, "/", 0, Json::array({"foo"}))).text, R"(20["foo"])");
}

TEST(SocketioEncode, AckWithNamespaceAndId) {
  EXPECT_EQ(encode(make(PacketType::Ack, "/admin", 456, Json::array())).text, "3/admin,456[]");
  EXPECT_EQ(encode(make(PacketType::Ack, "/", 31, Json::array({"ok"}))).text, R"(331["ok"])");
}

TEST(SocketioEncode, ConnectErrorWithMessage) {
  EXPECT_EQ(encode(make(PacketType::ConnectError, "/", std::nullopt, {{"message", "Not authorized"}})).text,
            R"(4{"message":"Not authorized"})");
  EXPECT_EQ(encode(make(PacketType::ConnectError, "/admin", std::nullopt, {{"message", "Invalid namespace"}})).text,
            R"(4/admin,{"message":"Invalid namespace"})");
}

TEST(SocketioEncode, LargestAckId) {
  auto out = encode(make(PacketType::Ack, "/", std::numeric_limits<uint64_t>::max(), Json::array()));
  EXPECT_EQ(out.text, "318446744073709551615[]");
}

TEST(SocketioEncode, NonAsciiStringsStayUtf8) {
  auto out = encode(make(PacketType::Event, "/", std::nullopt, Json::array({"h\xc3\xa9llo", "\xf0\x9f\x98\x80"})));
  EXPECT_EQ(out.text, "2[\"h\xc3\xa9llo\",\"\xf0\x9f\x98\x80\"]");
}

TEST(SocketioEncode, InvalidUtf8InStringsDoesNotThrow) {
  // Strings built by the application may hold invalid UTF-8; the encoder substitutes U+FFFD.
  Packet packet = make(PacketType::Event, "/", std::nullopt, Json::array({"bad\xff"}));
  EncodedPacket out;
  ASSERT_NO_THROW(out = encode(packet));
  EXPECT_EQ(out.text, "2[\"bad\xef\xbf\xbd\"]");
}

TEST(SocketioEncode, BinaryEventUsesPlaceholderAndAttachment) {
  auto out = encode(make(PacketType::Event, "/", std::nullopt, Json::array({"hello", bin("\x01\x02\x03")})));
  EXPECT_EQ(out.text, R"(51-["hello",{"_placeholder":true,"num":0}])");
  ASSERT_EQ(out.attachments.size(), 1u);
  EXPECT_EQ(out.attachments[0], "\x01\x02\x03");
}

TEST(SocketioEncode, BinaryAckWithNamespaceAndId) {
  auto out = encode(make(PacketType::Ack, "/admin", 456, Json::array({bin("\x01\x02\x03")})));
  EXPECT_EQ(out.text, R"(61-/admin,456[{"_placeholder":true,"num":0}])");
  ASSERT_EQ(out.attachments.size(), 1u);
  EXPECT_EQ(out.attachments[0], "\x01\x02\x03");
}

TEST(SocketioEncode, SeveralNestedBinariesNumberedInOrder) {
  Json data = Json::array({"upload", bin("A"), {{"files", Json::array({bin("B"), bin("")})}}});
  auto out = encode(make(PacketType::Event, "/", 7, data));
  EXPECT_EQ(out.text, R"(53-7["upload",{"_placeholder":true,"num":0},{"files":[{"_placeholder":true,"num":1},)"
                      R"({"_placeholder":true,"num":2}]}])");
  ASSERT_EQ(out.attachments.size(), 3u);
  EXPECT_EQ(out.attachments[0], "A");
  EXPECT_EQ(out.attachments[1], "B");
  EXPECT_EQ(out.attachments[2], "");
}

TEST(SocketioEncode, AttachmentsKeepAllByteValues) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  auto out = encode(make(PacketType::Event, "/", std::nullopt, Json::array({"x", bin(bytes)})));
  ASSERT_EQ(out.attachments.size(), 1u);
  EXPECT_EQ(out.attachments[0], bytes);
}

TEST(SocketioEncode, LeavesThePacketUntouched) {
  Packet packet = make(PacketType::Event, "/", std::nullopt, Json::array({"x", bin("ab")}));
  Json before = packet.data;
  encode(packet);
  EXPECT_EQ(packet.data, before);
  EXPECT_EQ(packet.type, PacketType::Event);
  EXPECT_TRUE(packet.data[1].is_binary());
}

TEST(SocketioEncode, WithoutBinaryEventStaysEvent) {
  auto out = encode(make(PacketType::Event, "/", std::nullopt, Json::array({"x", {{"_placeholder", false}}})));
  EXPECT_EQ(out.text[0], '2');
  EXPECT_TRUE(out.attachments.empty());
}

TEST(SocketioHelpers, HasBinaryFindsNestedBuffers) {
  EXPECT_FALSE(has_binary(nullptr));
  EXPECT_FALSE(has_binary(Json::array({"a", 1, {{"b", Json::array({true})}}})));
  EXPECT_TRUE(has_binary(bin("")));
  EXPECT_TRUE(has_binary(Json::array({"a", bin("x")})));
  EXPECT_TRUE(has_binary({{"a", {{"b", Json::array({1, bin("x")})}}}}));
}

TEST(SocketioHelpers, ReservedEventNames) {
  for (auto name : {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"})
    EXPECT_TRUE(is_reserved_event(name)) << name;
  for (auto name : {"message", "Connect", "connect ", "", "disconnected", "error", "ping"})
    EXPECT_FALSE(is_reserved_event(name)) << name;
}

// ---------------------------------------------------------------------------------------------
// Decoding: valid packets
// ---------------------------------------------------------------------------------------------

TEST(SocketioDecode, ConnectWithoutPayloadDefaultNamespace) {
  Packet p = decode_ok("0");
  EXPECT_EQ(p.type, PacketType::Connect);
  EXPECT_EQ(p.nsp, "/");
  EXPECT_FALSE(p.id);
  EXPECT_TRUE(p.data.is_null());
}

TEST(SocketioDecode, ConnectWithAuthObject) {
  Packet p = decode_ok(R"(0{"token":"123"})");
  EXPECT_EQ(p.type, PacketType::Connect);
  EXPECT_EQ(p.nsp, "/");
  EXPECT_EQ(p.data, Json({{"token", "123"}}));
}

TEST(SocketioDecode, ConnectCustomNamespaceWithAuth) {
  Packet p = decode_ok(R"(0/admin,{"token":"123"})");
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.data, Json({{"token", "123"}}));
}

TEST(SocketioDecode, NamespaceMayEndTheStringWithoutComma) {
  Packet p = decode_ok("0/admin");
  EXPECT_EQ(p.type, PacketType::Connect);
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_TRUE(p.data.is_null());
  Packet d = decode_ok("1/admin");
  EXPECT_EQ(d.type, PacketType::Disconnect);
  EXPECT_EQ(d.nsp, "/admin");
}

TEST(SocketioDecode, DisconnectCustomNamespace) {
  Packet p = decode_ok("1/admin,");
  EXPECT_EQ(p.type, PacketType::Disconnect);
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_TRUE(p.data.is_null());
  EXPECT_EQ(decode_ok("1").nsp, "/");
}

TEST(SocketioDecode, EventDefaultNamespace) {
  Packet p = decode_ok(R"(2["hello",1])");
  EXPECT_EQ(p.type, PacketType::Event);
  EXPECT_EQ(p.nsp, "/");
  EXPECT_FALSE(p.id);
  EXPECT_EQ(p.data, Json::array({"hello", 1}));
}

TEST(SocketioDecode, EventWithNamespaceAndAckId) {
  Packet p = decode_ok(R"(2/admin,456["project:delete",123])");
  EXPECT_EQ(p.type, PacketType::Event);
  EXPECT_EQ(p.nsp, "/admin");
  ASSERT_TRUE(p.id);
  EXPECT_EQ(*p.id, 456u);
  EXPECT_EQ(p.data, Json::array({"project:delete", 123}));
}

TEST(SocketioDecode, EventWithAckIdDefaultNamespace) {
  Packet p = decode_ok(R"(212["foo"])");
  ASSERT_TRUE(p.id);
  EXPECT_EQ(*p.id, 12u);
  EXPECT_EQ(p.nsp, "/");
  Packet zero = decode_ok(R"(20["foo"])");
  ASSERT_TRUE(zero.id);
  EXPECT_EQ(*zero.id, 0u);
}

TEST(SocketioDecode, EventFirstItemMayBeNumber) {
  // socket.io-parser accepts a number as event name (it is turned into a string by the client).
  Packet p = decode_ok(R"(2[1,"x"])");
  EXPECT_EQ(p.data, Json::array({1, "x"}));
}

TEST(SocketioDecode, AckWithId) {
  Packet p = decode_ok(R"(31["ok"])");
  EXPECT_EQ(p.type, PacketType::Ack);
  ASSERT_TRUE(p.id);
  EXPECT_EQ(*p.id, 1u);
  EXPECT_EQ(p.data, Json::array({"ok"}));
}

TEST(SocketioDecode, EmptyAckWithNamespaceAndId) {
  Packet p = decode_ok("3/admin,456[]");
  EXPECT_EQ(p.type, PacketType::Ack);
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(*p.id, 456u);
  EXPECT_EQ(p.data, Json::array());
}

TEST(SocketioDecode, LargestAckIdAccepted) {
  Packet p = decode_ok("318446744073709551615[]");
  ASSERT_TRUE(p.id);
  EXPECT_EQ(*p.id, std::numeric_limits<uint64_t>::max());
}

TEST(SocketioDecode, ConnectErrorObjectOrString) {
  Packet p = decode_ok(R"(4{"message":"Not authorized"})");
  EXPECT_EQ(p.type, PacketType::ConnectError);
  EXPECT_EQ(p.data, Json({{"message", "Not authorized"}}));
  EXPECT_EQ(decode_ok(R"(4/admin,"Invalid namespace")").data, "Invalid namespace");
}

TEST(SocketioDecode, Utf8StringsKept) {
  Packet p = decode_ok("2[\"h\xc3\xa9llo\",\"\xf0\x9f\x98\x80\",\"\\u00e9\\ud83d\\ude00\"]");
  EXPECT_EQ(p.data, Json::array({"h\xc3\xa9llo", "\xf0\x9f\x98\x80", "\xc3\xa9\xf0\x9f\x98\x80"}));
}

TEST(SocketioDecode, BracketsInsideStringsDoNotCountAsNesting) {
  std::string text = R"(2["x",")" + std::string(100000, '[') + R"(\""])";
  Packet p = decode_ok(text);
  EXPECT_EQ(p.data[1].get<std::string>().size(), 100001u);
}

TEST(SocketioDecode, ModeratelyNestedJsonAccepted) {
  std::string text = R"(2["x",)" + std::string(40, '[') + std::string(40, ']') + "]";
  Packet p = decode_ok(text);
  EXPECT_EQ(p.data.size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Decoding: binary packets and attachments
// ---------------------------------------------------------------------------------------------

TEST(SocketioDecode, BinaryEventWaitsForAttachmentThenReplacesPlaceholder) {
  Decoder decoder;
  ASSERT_EQ(decoder.add_text(R"(51-["hello",{"_placeholder":true,"num":0}])"), Status::NeedAttachment);
  EXPECT_TRUE(decoder.awaiting_attachments());
  ASSERT_EQ(decoder.add_binary("\x01\x02\x03"), Status::Complete);
  EXPECT_FALSE(decoder.awaiting_attachments());
  Packet p = decoder.take();
  EXPECT_EQ(p.type, PacketType::BinaryEvent);
  EXPECT_EQ(p.data, Json::array({"hello", bin("\x01\x02\x03")}));
}

TEST(SocketioDecode, BinaryAckWithNamespaceAndId) {
  Decoder decoder;
  ASSERT_EQ(decoder.add_text(R"(61-/admin,456[{"_placeholder":true,"num":0}])"), Status::NeedAttachment);
  ASSERT_EQ(decoder.add_binary("\x00\xff"s), Status::Complete);
  Packet p = decoder.take();
  EXPECT_EQ(p.type, PacketType::BinaryAck);
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(*p.id, 456u);
  EXPECT_EQ(p.data, Json::array({bin("\x00\xff"s)}));
}

TEST(SocketioDecode, AttachmentsGatheredThenPlaceholdersReplacedAnywhere) {
  Decoder decoder;
  ASSERT_EQ(
      decoder.add_text(R"(53-["upload",{"a":{"_placeholder":true,"num":2},"b":[1,{"_placeholder":true,"num":0}]},)"
                       R"([[{"_placeholder":true,"num":1}]]])"),
      Status::NeedAttachment);
  ASSERT_EQ(decoder.add_binary("zero"), Status::NeedAttachment);
  ASSERT_EQ(decoder.add_binary("one"), Status::NeedAttachment);
  ASSERT_EQ(decoder.add_binary("two"), Status::Complete);
  Packet p = decoder.take();
  Json expected = Json::array(
      {"upload", {{"a", bin("two")}, {"b", Json::array({1, bin("zero")})}}, Json::array({Json::array({bin("one")})})});
  EXPECT_EQ(p.data, expected);
}

TEST(SocketioDecode, SamePlaceholderMayBeUsedTwice) {
  Decoder decoder;
  ASSERT_EQ(decoder.add_text(R"(51-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}])"),
            Status::NeedAttachment);
  ASSERT_EQ(decoder.add_binary("ab"), Status::Complete);
  EXPECT_EQ(decoder.take().data, Json::array({"x", bin("ab"), bin("ab")}));
}

TEST(SocketioDecode, EmptyAttachment) {
  Decoder decoder;
  ASSERT_EQ(decoder.add_text(R"(51-["x",{"_placeholder":true,"num":0}])"), Status::NeedAttachment);
  ASSERT_EQ(decoder.add_binary(""), Status::Complete);
  EXPECT_EQ(decoder.take().data, Json::array({"x", bin("")}));
}

TEST(SocketioDecode, BinaryEventWithZeroAttachmentsCompletesAtOnce) {
  Packet p = decode_ok(R"(50-["x",1])");
  EXPECT_EQ(p.type, PacketType::BinaryEvent);
  EXPECT_EQ(p.data, Json::array({"x", 1}));
}

TEST(SocketioDecode, FalsePlaceholderMarkerIsPlainData) {
  Packet p = decode_ok(R"(50-["x",{"_placeholder":false,"num":0}])");
  EXPECT_EQ(p.data[1], Json({{"_placeholder", false}, {"num", 0}}));
}

TEST(SocketioDecode, PlaceholderInPlainEventIsNotReplaced) {
  Packet p = decode_ok(R"(2["x",{"_placeholder":true,"num":0}])");
  EXPECT_EQ(p.data[1], Json({{"_placeholder", true}, {"num", 0}}));
}

TEST(SocketioDecode, DecoderIsReusableAcrossPackets) {
  Decoder decoder;
  ASSERT_EQ(decoder.add_text(R"(2["a"])"), Status::Complete);
  EXPECT_EQ(decoder.take().data, Json::array({"a"}));
  ASSERT_EQ(decoder.add_text(R"(51-["b",{"_placeholder":true,"num":0}])"), Status::NeedAttachment);
  ASSERT_EQ(decoder.add_binary("x"), Status::Complete);
  EXPECT_EQ(decoder.take().data, Json::array({"b", bin("x")}));
  ASSERT_EQ(decoder.add_text("1/admin,"), Status::Complete);
  Packet p = decoder.take();
  EXPECT_EQ(p.type, PacketType::Disconnect);
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_FALSE(p.id);
}

TEST(SocketioDecode, DecoderRecoversAfterError) {
  Decoder decoder;
  ASSERT_EQ(decoder.add_text("9"), Status::Error);
  ASSERT_EQ(decoder.add_text(R"(2["a"])"), Status::Complete);
  EXPECT_EQ(decoder.take().data, Json::array({"a"}));
}

// ---------------------------------------------------------------------------------------------
// Decoding: errors
// ---------------------------------------------------------------------------------------------

TEST(SocketioDecodeError, EmptyPacket) { EXPECT_TRUE(refused("")); }

TEST(SocketioDecodeError, UnknownType) {
  for (std::string text : {"7", "7[\"a\"]", "8", "9", "a", "-1", " 2[\"a\"]", "/admin,"})
    EXPECT_TRUE(refused(text)) << text;
}

TEST(SocketioDecodeError, BadAttachmentCount) {
  for (std::string text : {R"(5-["a",{"_placeholder":true,"num":0}])", R"(5a-["a",{"_placeholder":true,"num":0}])",
                           R"(51["a",{"_placeholder":true,"num":0}])", R"(5["a"])", R"(5+1-["a"])", R"(5 1-["a"])",
                           R"(51a-["a"])", R"(6-[])", "5", "6", R"(5999999999999999999999999-["a"])"}) {
    EXPECT_TRUE(refused(text)) << text;
  }
}

TEST(SocketioDecodeError, TooManyAttachments) {
  Decoder decoder(2);
  EXPECT_EQ(decoder.add_text(R"(53-["a"])"), Status::Error);
  EXPECT_EQ(decoder.add_text(R"(52-["a",{"_placeholder":true,"num":1}])"), Status::NeedAttachment);
}

TEST(SocketioDecodeError, PayloadNotJson) {
  for (std::string text : {R"(2["a")", "2hello", R"(2["a"]x)", R"(2["a"]])", R"(2['a'])", R"(2["a",])", R"(0{token:1})",
                           R"(2["a",NaN])", R"(2["a",1e400])", "2[\"a\"]\x1e"}) {
    EXPECT_TRUE(refused(text)) << text;
  }
}

TEST(SocketioDecodeError, EventPayloadNotArray) {
  for (std::string text : {R"(2{"a":1})", R"(2"a")", "2null", "2true", "2/admin,{}", R"(21{"a":1})"})
    EXPECT_TRUE(refused(text)) << text;
}

TEST(SocketioDecodeError, EventWithoutPayload) {
  EXPECT_TRUE(refused("2"));
  EXPECT_TRUE(refused("2/admin,"));
  EXPECT_TRUE(refused("212"));
}

TEST(SocketioDecodeError, EventPayloadEmptyArray) {
  EXPECT_TRUE(refused("2[]"));
  EXPECT_TRUE(refused("2/admin,1[]"));
}

TEST(SocketioDecodeError, EventReservedName) {
  for (std::string name :
       {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}) {
    EXPECT_TRUE(refused("2[\"" + name + "\"]")) << name;
    EXPECT_TRUE(refused("2/admin,3[\"" + name + "\",1]")) << name;
  }
}

TEST(SocketioDecodeError, BinaryEventReservedName) {
  EXPECT_TRUE(refused(R"(51-["disconnect",{"_placeholder":true,"num":0}])"));
}

TEST(SocketioDecodeError, EventFirstItemNotString) {
  for (std::string text : {R"(2[{"a":1}])", R"(2[{"a":1},"x"])", R"(2[["x"]])", "2[null]", "2[true]"})
    EXPECT_TRUE(refused(text)) << text;
}

TEST(SocketioDecodeError, AckPayloadNotArray) {
  for (std::string text :
       {R"(31{"a":1})", R"(31"ok")", "31", "3", "31null", "3/admin,1", R"(61-1{"_placeholder":true,"num":0})"})
    EXPECT_TRUE(refused(text)) << text;
}

TEST(SocketioDecodeError, ConnectPayloadNotObject) {
  for (std::string text : {R"(0"token")", R"(0["token"])", "0[]", "0/admin,[1]", "0true", R"(0/admin,"x")"})
    EXPECT_TRUE(refused(text)) << text;
}

TEST(SocketioDecodeError, ConnectExplicitNullPayload) {
  // socket.io-parser requires an object when a CONNECT payload is present; `null` is not one.
  EXPECT_TRUE(refused("0null"));
  EXPECT_TRUE(refused("0/admin,null"));
}

TEST(SocketioDecodeError, DisconnectWithPayload) {
  for (std::string text : {"1{}", "1[]", R"(1"bye")", "1/admin,{}", "1null", "1/admin,null", "1 "})
    EXPECT_TRUE(refused(text)) << text;
}

TEST(SocketioDecodeError, ConnectErrorPayloadNotObjectOrString) {
  for (std::string text : {"4", "4[]", "41", "4null"}) EXPECT_TRUE(refused(text)) << text;
}

TEST(SocketioDecodeError, AckIdOverflow) { EXPECT_TRUE(refused(R"(318446744073709551616["a"])")); }

TEST(SocketioDecodeError, PlaceholderIndexOutOfRange) {
  Decoder decoder;
  ASSERT_EQ(decoder.add_text(R"(51-["a",{"_placeholder":true,"num":1}])"), Status::NeedAttachment);
  EXPECT_EQ(decoder.add_binary("x"), Status::Error);
  EXPECT_FALSE(decoder.awaiting_attachments());
  EXPECT_TRUE(refused(R"(50-["a",{"_placeholder":true,"num":0}])"));
}

TEST(SocketioDecodeError, PlaceholderIndexNotANonNegativeInteger) {
  for (std::string num : {"-1", "\"0\"", "0.5", "null", "true", "18446744073709551615", "9223372036854775808"}) {
    Decoder decoder;
    ASSERT_EQ(decoder.add_text(R"(51-["a",{"_placeholder":true,"num":)" + num + "}]"), Status::NeedAttachment) << num;
    EXPECT_EQ(decoder.add_binary("x"), Status::Error) << num;
  }
  Decoder missing;
  ASSERT_EQ(missing.add_text(R"(51-["a",{"_placeholder":true}])"), Status::NeedAttachment);
  EXPECT_EQ(missing.add_binary("x"), Status::Error);
}

TEST(SocketioDecodeError, BinaryAttachmentWhileNoneExpected) {
  Decoder decoder;
  EXPECT_EQ(decoder.add_binary("x"), Status::Error);
  ASSERT_EQ(decoder.add_text(R"(2["a"])"), Status::Complete);
  EXPECT_EQ(decoder.add_binary("x"), Status::Error);
  ASSERT_EQ(decoder.add_text(R"(51-["a",{"_placeholder":true,"num":0}])"), Status::NeedAttachment);
  ASSERT_EQ(decoder.add_binary("x"), Status::Complete);
  EXPECT_EQ(decoder.add_binary("y"), Status::Error);
}

TEST(SocketioDecodeError, TextWhileAwaitingAttachments) {
  Decoder decoder;
  ASSERT_EQ(decoder.add_text(R"(52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])"),
            Status::NeedAttachment);
  ASSERT_EQ(decoder.add_binary("x"), Status::NeedAttachment);
  EXPECT_EQ(decoder.add_text(R"(2["b"])"), Status::Error);
  EXPECT_FALSE(decoder.awaiting_attachments());
  // The half-gathered packet is dropped; the decoder starts afresh.
  EXPECT_EQ(decoder.add_binary("y"), Status::Error);
  ASSERT_EQ(decoder.add_text(R"(2["c"])"), Status::Complete);
  EXPECT_EQ(decoder.take().data, Json::array({"c"}));
}

TEST(SocketioDecodeError, DeeplyNestedArraysRefusedWithoutCrashing) {
  EXPECT_TRUE(refused("2" + std::string(100000, '[')));
  EXPECT_TRUE(refused("2" + std::string(100000, '[') + std::string(100000, ']')));
  EXPECT_TRUE(refused(R"(2["x",)" + std::string(100000, '[') + std::string(100000, ']') + "]"));
}

TEST(SocketioDecodeError, DeeplyNestedObjectsRefusedWithoutCrashing) {
  std::string text = R"(2["x",)";
  for (int i = 0; i < 50000; ++i) text += R"({"a":)";
  text += "1";
  text += std::string(50000, '}');
  text += "]";
  EXPECT_TRUE(refused(text));
  std::string connect = "0";
  for (int i = 0; i < 50000; ++i) connect += R"({"a":)";
  EXPECT_TRUE(refused(connect));
}

TEST(SocketioDecodeError, DeeplyNestedBinaryEventRefused) {
  std::string text =
      "51-[\"x\"," + std::string(100000, '[') + R"({"_placeholder":true,"num":0})" + std::string(100000, ']') + "]";
  EXPECT_TRUE(refused(text));
}

TEST(SocketioDecodeError, InvalidUtf8InJsonStringsRefused) {
  for (std::string text : {"2[\"\xff\"]", "2[\"a\xc3\"]", "2[\"\xc0\xaf\"]", "2[\"\xed\xa0\x80\"]",
                           "2[\"\xf4\x90\x80\x80\"]", "2[\"x\",{\"\xfe\":1}]", "0{\"token\":\"\x80\"}"}) {
    EXPECT_TRUE(refused(text)) << text;
  }
}

TEST(SocketioDecodeError, LoneSurrogateEscapeRefused) {
  // A lone UTF-16 surrogate cannot be held as UTF-8.
  EXPECT_TRUE(refused(R"(2["\ud800"])"));
  EXPECT_TRUE(refused(R"(2["\udc00"])"));
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

class RandomJson {
 public:
  explicit RandomJson(uint32_t seed) : rng_(seed) {}

  Json value(int depth, bool allow_binary) {
    int kind = pick(depth > 3 ? 6 : 8);
    switch (kind) {
      case 0:
        return nullptr;
      case 1:
        return pick(2) == 0;
      case 2:
        return static_cast<int64_t>(rng_()) - (int64_t{1} << 31);
      case 3:
        return static_cast<double>(rng_()) / 7.0 - 1e5;
      case 4:
        return string();
      case 5:
        return allow_binary ? binary() : Json(string());
      case 6: {
        Json array = Json::array();
        for (int i = pick(4); i > 0; --i) array.push_back(value(depth + 1, allow_binary));
        return array;
      }
      default: {
        Json object = Json::object();
        // A `"_placeholder": true` member would be taken for a placeholder in a binary packet,
        // as with socket.io-parser: application data cannot use that key.
        for (int i = pick(4); i > 0; --i) {
          std::string key = string();
          if (key != "_placeholder") object[key] = value(depth + 1, allow_binary);
        }
        return object;
      }
    }
  }

  std::string string() {
    static const std::vector<std::string> pieces = {"a",
                                                    "hello",
                                                    " ",
                                                    "\"",
                                                    "\\",
                                                    "/",
                                                    "\n",
                                                    "\t",
                                                    "\x01",
                                                    "\xc3\xa9",
                                                    "\xe2\x82\xac",
                                                    "\xf0\x9f\x98\x80",
                                                    ",",
                                                    "[",
                                                    "{",
                                                    "_placeholder",
                                                    "0",
                                                    "-"};
    std::string out;
    for (int i = pick(6); i > 0; --i) out += pieces[static_cast<size_t>(pick(static_cast<int>(pieces.size())))];
    return out;
  }

  Json binary() {
    std::vector<uint8_t> bytes(static_cast<size_t>(pick(20)));
    for (auto& b : bytes) b = static_cast<uint8_t>(rng_());
    return Json::binary(std::move(bytes));
  }

  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  std::mt19937& rng() { return rng_; }

 private:
  std::mt19937 rng_;
};

Packet decode_encoded(const EncodedPacket& encoded, std::string* error) {
  Decoder decoder;
  Status status = decoder.add_text(encoded.text);
  for (const auto& attachment : encoded.attachments) {
    if (status != Status::NeedAttachment) break;
    status = decoder.add_binary(attachment);
  }
  if (status != Status::Complete)
    *error = "status " + std::to_string(static_cast<int>(status)) + ": " + decoder.error();
  return decoder.take();
}

TEST(SocketioRoundTrip, RandomPacketsSurviveEncodeThenDecode) {
  RandomJson random(12345);
  const std::vector<std::string> namespaces = {"/", "/admin", "/a/b", "/chat-room_1", "/\xc3\xa9"};
  for (int iteration = 0; iteration < 2000; ++iteration) {
    Packet packet;
    packet.nsp = namespaces[static_cast<size_t>(random.pick(static_cast<int>(namespaces.size())))];
    if (random.pick(2)) packet.id = random.rng()() % 100000;
    switch (random.pick(5)) {
      case 0:
        packet.type = PacketType::Connect;
        packet.data = random.pick(3) ? Json({{"sid", random.string()}, {"x", random.value(1, false)}}) : Json();
        break;
      case 1:
        packet.type = PacketType::Disconnect;
        break;
      case 2: {
        packet.type = PacketType::Event;
        packet.data = Json::array({"ev" + random.string()});
        for (int i = random.pick(4); i > 0; --i) packet.data.push_back(random.value(1, true));
        break;
      }
      case 3:
        packet.type = PacketType::Ack;
        packet.data = Json::array();
        for (int i = random.pick(4); i > 0; --i) packet.data.push_back(random.value(1, true));
        break;
      default:
        packet.type = PacketType::ConnectError;
        packet.data = random.pick(2) ? Json({{"message", random.string()}}) : Json(random.string());
        break;
    }
    EncodedPacket encoded = encode(packet);
    std::string error;
    Packet decoded = decode_encoded(encoded, &error);
    ASSERT_TRUE(error.empty()) << error << " for " << encoded.text;
    PacketType expected_type = packet.type;
    if (has_binary(packet.data)) {
      expected_type = packet.type == PacketType::Event ? PacketType::BinaryEvent : PacketType::BinaryAck;
    }
    EXPECT_EQ(decoded.type, expected_type) << encoded.text;
    EXPECT_EQ(decoded.nsp, packet.nsp) << encoded.text;
    EXPECT_EQ(decoded.id, packet.id) << encoded.text;
    EXPECT_EQ(decoded.data, packet.data) << encoded.text;
  }
}

TEST(SocketioRoundTrip, DecodeThenEncodeGivesTheSameText) {
  for (std::string text : {R"(0{"sid":"oSO0OpakMV_3jnilAAAA"})", R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})",
                           "1/admin,", R"(2["hello",1])", R"(2/admin,456["project:delete",123])", "3/admin,456[]",
                           R"(4{"message":"Not authorized"})", R"(4/admin,{"message":"Invalid namespace"})"}) {
    EXPECT_EQ(encode(decode_ok(text)).text, text);
  }
}

}  // namespace socketio_packet_test
}  // namespace herald::socketio
