// Raw JSON text (codec/raw_json.hpp): a pushed message goes to clients as the bytes the backend
// sent, through the Socket.IO text encoder, the API's fields and the cluster wires; msgpack
// clients and Node servers get the value it holds; text that is not one JSON value is refused.
#include <gtest/gtest.h>

#include <string>

#include "api/fields.hpp"
#include "cluster/classic_wire.hpp"
#include "cluster/sharded_wire.hpp"
#include "codec/json_depth.hpp"
#include "codec/raw_json.hpp"
#include "socketio/msgpack_packet.hpp"
#include "socketio/packet.hpp"

namespace herald {
namespace raw_json_test {

using socketio::Packet;
using socketio::PacketType;

// Key order, number text and escapes that a parse and a dump would change.
const std::string kExact = R"({"zeta":1.50,"alpha":{"y":1e3,"b":null},"s":"caf\u00e9 \/ é","n":-0.0, "sp": [ 1 ,2 ]})";

Json raw(std::string_view text) {
  auto value = codec::raw_json(text);
  EXPECT_TRUE(value.has_value()) << text;
  return value ? *value : Json();
}

Packet pushed(Json message) {
  return Packet{PacketType::Event, "/", 7, Json::array({"message", "m-1", std::move(message)})};
}

TEST(RawJson, TheTextGoesOutAsItCame) {
  auto encoded = socketio::encode(pushed(raw(kExact)));
  EXPECT_EQ(encoded.text, R"(27["message","m-1",)" + kExact + "]");
  EXPECT_TRUE(encoded.attachments.empty());
  EXPECT_FALSE(socketio::has_binary(pushed(raw(kExact)).data));
}

TEST(RawJson, WhitespaceAroundTheValueIsDropped) {
  EXPECT_EQ(codec::raw_json_text(raw(" \n\t[1, 2]\r\n ")), "[1, 2]");
  EXPECT_EQ(codec::raw_json_text(raw("\"x\"")), "\"x\"");
}

TEST(RawJson, TextThatIsNotOneJsonValueIsRefused) {
  for (std::string_view bad :
       {"", "   ", "{", "[1,]", "1 2", "{\"a\":1}x", "nul", "'x'", "\"\\ud800\"", "{\"a\":1,}", "01"}) {
    EXPECT_FALSE(codec::raw_json(bad)) << bad;
  }
  // nlohmann's lexer stops at a NUL byte: nothing after one may reach a client.
  EXPECT_FALSE(codec::raw_json(std::string_view("1\0garbage", 9)));
  EXPECT_FALSE(codec::raw_json(std::string_view("\"a\0b\"", 5)));
  EXPECT_FALSE(codec::raw_json(std::string_view("[1]\0", 4)));
  // Invalid UTF-8, in a string and outside one.
  EXPECT_FALSE(codec::raw_json("\"\xff\""));
  EXPECT_FALSE(codec::raw_json("\"\xc3\""));
  EXPECT_FALSE(codec::raw_json("\xc3\xa9"));
  // Deeper than the limit every parse in Herald keeps.
  std::string deep(codec::kMaxJsonDepth + 1, '[');
  deep += std::string(codec::kMaxJsonDepth + 1, ']');
  EXPECT_FALSE(codec::raw_json(deep));
  std::string limit(codec::kMaxJsonDepth, '[');
  limit += std::string(codec::kMaxJsonDepth, ']');
  EXPECT_TRUE(codec::raw_json(limit));
}

TEST(RawJson, NoInputMakesARawValue) {
  // msgpack ext types are one byte: the largest subtype msgpack gives is far below the private one.
  std::string ext = "\xd4\x7f\x01";  // fixext 1, type 127
  Json value = Json::from_msgpack(ext, true, false);
  ASSERT_TRUE(value.is_binary());
  EXPECT_FALSE(codec::is_raw_json(value));
  EXPECT_FALSE(codec::is_raw_json(Json::binary({1, 2})));
}

TEST(RawJson, MsgpackClientsGetTheValue) {
  std::string bytes = socketio::encode_msgpack(pushed(raw(kExact)));
  std::string error;
  auto decoded = socketio::decode_msgpack(bytes, error);
  ASSERT_TRUE(decoded) << error;
  EXPECT_EQ(decoded->data[2], Json::parse(kExact));
  EXPECT_EQ(bytes, socketio::encode_msgpack(pushed(Json::parse(kExact))));
}

TEST(RawJson, ExpandingGivesTheParsedValueAndWritingGivesTheText) {
  Json data = Json::array({"a", raw(kExact), Json{{"k", raw("[1.0]")}}});
  EXPECT_TRUE(codec::contains_raw_json(data));
  EXPECT_EQ(codec::to_json_text(data), "[\"a\"," + kExact + ",{\"k\":[1.0]}]");
  Json plain = codec::expanded(data);
  EXPECT_FALSE(codec::contains_raw_json(plain));
  EXPECT_EQ(plain[1], Json::parse(kExact));
  EXPECT_EQ(plain[2]["k"][0], 1.0);
  EXPECT_TRUE(codec::is_raw_json(data[1])) << "the original is left as it was";
}

TEST(RawJson, TheMembersOfAnObjectAreFoundAsWritten) {
  auto members = codec::object_members(R"( {"a" : [1, {"x":"}"}] , "m\u0065ssage":1.50,"s":"a\"b"} )");
  ASSERT_EQ(members.size(), 3U);
  EXPECT_EQ(members[0].first, "a");
  EXPECT_EQ(members[0].second, R"([1, {"x":"}"}])");
  EXPECT_EQ(members[1].first, "message");
  EXPECT_EQ(members[1].second, "1.50");
  EXPECT_EQ(members[2].second, R"("a\"b")");
  auto elements = codec::array_elements(R"([ 1e3 ,"x",{"a":[]},null])");
  ASSERT_EQ(elements.size(), 4U);
  EXPECT_EQ(elements[0], "1e3");
  EXPECT_EQ(elements[2], R"({"a":[]})");
  EXPECT_TRUE(codec::object_members("[1]").empty());
  EXPECT_TRUE(codec::array_elements("{\"a\":1").empty());
}

net::HttpRequest json_post(std::string body) {
  net::HttpRequest request;
  request.method = "POST";
  request.path = "/api/v1/push";
  request.headers = {{"content-type", "application/json"}};
  request.body = std::move(body);
  return request;
}

TEST(RawJson, TheApiKeepsAPushedMessageAsWritten) {
  auto fields = api::Fields::parse(json_post(R"({"users":["u"],"message":)" + kExact + R"(,"msgId":"m"})"),
                                   api::KeptMessages::Top);
  Json message = fields.value("message");
  ASSERT_TRUE(codec::is_raw_json(message));
  EXPECT_EQ(codec::raw_json_text(message), kExact);
  EXPECT_FALSE(fields.raw().contains("message")) << "the message is not parsed into a value";
  EXPECT_EQ(fields.required_string("msgId", 100), "m");
  // A missing or blank message is still missing.
  for (std::string body : {R"({"msgId":"m"})", R"({"message":null})", R"({"message":""})"}) {
    auto blank = api::Fields::parse(json_post(body), api::KeptMessages::Top);
    EXPECT_THROW((void)blank.value("message"), api::BadRequest) << body;
  }
  // Form bodies give text, as before.
  net::HttpRequest form = json_post("message=%7B%22b%22%3A1%7D&msgId=m");
  form.headers = {{"content-type", "application/x-www-form-urlencoded"}};
  EXPECT_EQ(api::Fields::parse(form, api::KeptMessages::Top).value("message"), "{\"b\":1}");
}

TEST(RawJson, TheBatchKeepsEachEntrysMessage) {
  auto fields = api::Fields::parse(
      json_post(R"({"pushes":[{"message":1.50,"all":true},{"all":true},{"message":{"z":1,"a":2}}]})"),
      api::KeptMessages::Entries);
  const auto& messages = fields.entry_messages();
  ASSERT_EQ(messages.size(), 3U);
  EXPECT_EQ(codec::raw_json_text(*messages[0]), "1.50");
  EXPECT_FALSE(messages[1].has_value());
  EXPECT_EQ(codec::raw_json_text(*messages[2]), R"({"z":1,"a":2})");
  EXPECT_FALSE(fields.raw()["pushes"][0].contains("message"));
  auto entry = api::Fields::of(fields.raw()["pushes"][2], messages[2]);
  EXPECT_EQ(codec::raw_json_text(entry.value("message")), R"({"z":1,"a":2})");
}

class RawJsonWires : public ::testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<cluster::Wire> make(const std::string& uid) const {
    if (GetParam()) return std::make_unique<cluster::ShardedWire>("socket.io", "/", uid);
    return std::make_unique<cluster::ClassicWire>("socket.io", "/", uid);
  }
  // The packet another Herald node decodes from what `body` is sent as.
  Packet across(const cluster::Body& body) {
    auto out = make("node-a")->encode("node-a", body);
    cluster::Message message;
    EXPECT_EQ(make("node-b")->decode(out.channel, out.payload, message), cluster::Wire::Decoded::Ok);
    if (auto* broadcast = std::get_if<cluster::msg::Broadcast>(&message.body)) return broadcast->packet;
    if (auto* with_ack = std::get_if<cluster::msg::BroadcastWithAck>(&message.body)) return with_ack->packet;
    ADD_FAILURE() << "not a broadcast";
    return {};
  }
};

TEST_P(RawJsonWires, AnotherHeraldNodeSendsTheSameBytes) {
  cluster::TargetSpec target{{"room"}, {}, Json::object()};
  for (bool with_stamp : {false, true}) {
    std::optional<socketio::Stamp> stamp;
    if (with_stamp) stamp = socketio::Stamp{"AAAAAAAAAAAAAAAAAAAAAA", 3};
    Packet packet = across(cluster::msg::Broadcast{pushed(raw(kExact)), target, "", stamp});
    EXPECT_EQ(socketio::encode(packet).text, socketio::encode(pushed(raw(kExact))).text);
  }
  Packet acked = across(cluster::msg::BroadcastWithAck{"r1", pushed(raw(kExact)), target, 5000, true});
  ASSERT_EQ(acked.data.size(), 3U);
  EXPECT_EQ(codec::raw_json_text(acked.data[2]), kExact);
}

TEST_P(RawJsonWires, NodeServersReadAPlainPacket) {
  // What a Node server decodes: the packet's data holds the value, not Herald's binary form.
  cluster::msg::Broadcast broadcast{pushed(raw(kExact)), {}, "", std::nullopt};
  Json packet = cluster::packet_for_wire(broadcast.packet).packet;
  EXPECT_FALSE(codec::contains_raw_json(packet));
  EXPECT_EQ(packet["data"][2], Json::parse(kExact));
  auto out = make("node-a")->encode("node-a", broadcast);
  Json message = out.payload.front() == '{' ? Json::parse(out.payload) : Json::from_msgpack(out.payload);
  Json sent = GetParam() ? message["data"]["packet"] : message[1];
  EXPECT_EQ(sent["data"][2], Json::parse(kExact));
}

TEST_P(RawJsonWires, ACompactTextCrossesOnceAndArrivesAsSent) {
  // Compact, keys in any order, numbers as the value writes them: the packet's value gives these
  // bytes back, so no heraldRaw copy is carried.
  const std::string compact = R"({"zeta":1,"alpha":{"y":true,"b":null},"m":[-1.5,"x\u0001"],"10":"d"})";
  EXPECT_TRUE(cluster::packet_for_wire(pushed(raw(compact))).raw_texts.is_null());
  auto out = make("node-a")->encode("node-a", cluster::msg::Broadcast{pushed(raw(compact)), {}, "", std::nullopt});
  Json message = out.payload.front() == '{' ? Json::parse(out.payload) : Json::from_msgpack(out.payload);
  if (GetParam())
    EXPECT_FALSE(message["data"].contains("heraldRaw"));
  else
    EXPECT_EQ(message.size(), 3U) << "no fourth (stamp) nor fifth (raw texts) element";
  EXPECT_EQ(socketio::encode(across(cluster::msg::Broadcast{pushed(raw(compact)), {}, "", std::nullopt})).text,
            socketio::encode(pushed(raw(compact))).text);
  // A text the value would not give back (1.50, a space, an escape) is carried next to it.
  for (const std::string text : {"1.50", R"({"a": 1})", R"("caf\u00e9")"}) {
    auto wire = cluster::packet_for_wire(pushed(raw(text)));
    ASSERT_FALSE(wire.raw_texts.is_null()) << text;
    EXPECT_EQ(wire.raw_texts[0][1], text);
  }
}

INSTANTIATE_TEST_SUITE_P(ClassicAndSharded, RawJsonWires, ::testing::Bool());

// Plain text is written as it is; anything else as nlohmann escapes it.
TEST(RawJson, StringsAreWrittenAsNlohmannWritesThem) {
  for (std::string text :
       {"u1", "", "say \"hi\"", "back\\slash", "tab\there", "caf\xc3\xa9", "bad \xc3 utf8", "\x7f"}) {
    std::string out = "[";
    codec::write_json_string(text, out);
    EXPECT_EQ(out, "[" + Json(text).dump(-1, ' ', false, Json::error_handler_t::replace)) << text;
  }
}

}  // namespace raw_json_test
}  // namespace herald
