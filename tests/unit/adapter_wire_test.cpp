// The adapter's two wires (cluster::ClassicWire for @socket.io/redis-adapter's createAdapter,
// cluster::ShardedWire for createShardedAdapter): every message a node sends decodes back to the
// same typed message on the node that receives it, on the channel the protocol names; and
// payloads as a Node server publishes them decode as Node meant them. The Node payloads below
// are the bytes notepack.io (the adapter's msgpack encoder) and JSON.stringify produce for the
// messages named beside them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster/classic_wire.hpp"
#include "cluster/sharded_wire.hpp"
#include "push/user_data.hpp"

namespace herald::cluster {
namespace adapter_wire_test {

using socketio::Json;
using socketio::Packet;
using socketio::PacketType;
using socketio::SocketInfo;

std::string from_hex(std::string_view hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return bytes;
}

Packet event(Json data, std::optional<uint64_t> id = std::nullopt) {
  return Packet{PacketType::Event, "/", id, std::move(data)};
}

// Sends `body` over `from` and decodes it with `to` on the channel it went to.
template <class T>
T round_trip(const Wire& from, const Wire& to, const Body& body, const std::string& requester = "") {
  Outgoing out = requester.empty() ? from.encode("node-a", body) : from.encode_response("node-a", requester, body);
  EXPECT_FALSE(out.channel.empty());
  EXPECT_TRUE(to.owns(out.channel)) << out.channel;
  Message message;
  EXPECT_EQ(to.decode(out.channel, out.payload, message), Wire::Decoded::Ok) << out.channel;
  if (requester.empty()) {
    EXPECT_EQ(message.sender, "node-a");
  }
  const T* typed = std::get_if<T>(&message.body);
  EXPECT_NE(typed, nullptr) << "decoded as variant index " << message.body.index();
  return typed ? *typed : T{};
}

class Wires : public ::testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<Wire> make(const std::string& uid) const {
    if (GetParam()) return std::make_unique<ShardedWire>("socket.io", "/", uid);
    return std::make_unique<ClassicWire>("socket.io", "/", uid);
  }
  std::unique_ptr<Wire> a = make("node-a");
  std::unique_ptr<Wire> b = make("node-b");
};

TEST_P(Wires, ABroadcastComesBackWithItsPacketTargetAndStamp) {
  msg::Broadcast sent{event(Json::array({"news", Json{{"n", 1}}})),
                      TargetSpec{{"room1", "room2"}, {"muted"}, Json{{"volatile", false}}},
                      {},
                      socketio::Stamp{"node-a", 42}};
  auto got = round_trip<msg::Broadcast>(*a, *b, sent);
  EXPECT_EQ(got.packet.data, sent.packet.data);
  EXPECT_EQ(got.packet.nsp, "/");
  EXPECT_EQ(got.target.rooms, sent.target.rooms);
  EXPECT_EQ(got.target.except, sent.target.except);
  ASSERT_TRUE(got.stamp);
  EXPECT_EQ(got.stamp->origin, "node-a");
  EXPECT_EQ(got.stamp->seq, 42u);
}

TEST_P(Wires, AOneRoomBroadcastGoesOnTheRoomsChannelWhereThereIsOne) {
  msg::Broadcast sent{event(Json::array({"news"})), TargetSpec{{"room1"}, {}, Json::object()}, {}};
  Outgoing out = a->encode("node-a", sent);
  EXPECT_EQ(out.channel, "socket.io#/#room1#") << "both protocols publish one room's broadcasts on its channel";
  auto got = round_trip<msg::Broadcast>(*a, *b, sent);
  EXPECT_EQ(got.target.rooms, std::vector<std::string>{"room1"});
}

TEST_P(Wires, ABroadcastWithAckKeepsItsRequestIdTimeoutAndBatching) {
  msg::BroadcastWithAck sent{"req-1", event(Json::array({"ask", 1}), 7), TargetSpec{{"room1"}, {}, Json::object()},
                             2500, true};
  auto got = round_trip<msg::BroadcastWithAck>(*a, *b, sent);
  EXPECT_EQ(got.request_id, "req-1");
  EXPECT_EQ(got.packet.data, sent.packet.data);
  EXPECT_EQ(got.packet.id, std::optional<uint64_t>(7));
  EXPECT_EQ(got.target.rooms, sent.target.rooms);
  EXPECT_EQ(got.timeout_ms, 2500);
  EXPECT_TRUE(got.batch_acks);
}

TEST_P(Wires, RoomChangesAndDisconnectsKeepTheirTargets) {
  auto join =
      round_trip<msg::RoomChange>(*a, *b, msg::RoomChange{true, TargetSpec{{"u1"}, {}, Json::object()}, {"vip"}, ""});
  EXPECT_TRUE(join.join);
  EXPECT_EQ(join.target.rooms, std::vector<std::string>{"u1"});
  EXPECT_EQ(join.rooms, std::vector<std::string>{"vip"});
  auto leave = round_trip<msg::RoomChange>(
      *a, *b, msg::RoomChange{false, TargetSpec{{"u1"}, {"u2"}, Json::object()}, {"vip"}, ""});
  EXPECT_FALSE(leave.join);
  EXPECT_EQ(leave.target.except, std::vector<std::string>{"u2"});
  auto disconnect =
      round_trip<msg::Disconnect>(*a, *b, msg::Disconnect{TargetSpec{{"u1"}, {}, Json::object()}, true, ""});
  EXPECT_TRUE(disconnect.close);
  EXPECT_EQ(disconnect.target.rooms, std::vector<std::string>{"u1"});
}

TEST_P(Wires, RequestsEveryServerAnswersKeepTheirIds) {
  auto fetch =
      round_trip<msg::FetchSockets>(*a, *b, msg::FetchSockets{"req-2", TargetSpec{{"room1"}, {}, Json::object()}});
  EXPECT_EQ(fetch.request_id, "req-2");
  EXPECT_EQ(fetch.target.rooms, std::vector<std::string>{"room1"});
  auto emit =
      round_trip<msg::ServerSideEmit>(*a, *b, msg::ServerSideEmit{Json::array({"herald:kick", "alice"}), "req-3"});
  EXPECT_EQ(emit.request_id, "req-3");
  EXPECT_EQ(emit.data, Json::array({"herald:kick", "alice"}));
}

TEST_P(Wires, AnswersReachTheRequesterAlone) {
  Outgoing out = b->encode_response("node-b", "node-a", msg::ClientCount{"req-1", 2, {"alice", "bob"}, ""});
  EXPECT_NE(out.channel.find("node-a"), std::string::npos) << out.channel;
  auto count = round_trip<msg::ClientCount>(*b, *a, msg::ClientCount{"req-1", 2, {"alice", "bob"}, ""}, "node-a");
  EXPECT_EQ(count.request_id, "req-1");
  EXPECT_EQ(count.count, 2u);
  EXPECT_EQ(count.users, (std::vector<std::string>{"alice", "bob"}));
}

TEST_P(Wires, AcksComeBackOneOrBatchedWithWhoAcked) {
  msg::Acks one{"req-1", {{SocketInfo{"s1", push::UserData::make("alice", 0), nullptr}, Json("yes")}}, false};
  auto got_one = round_trip<msg::Acks>(*b, *a, one, "node-a");
  ASSERT_EQ(got_one.acks.size(), 1u);
  EXPECT_EQ(push::user_of(got_one.acks[0].first), "alice");
  EXPECT_EQ(got_one.acks[0].second, Json("yes"));

  msg::Acks batch{"req-1",
                  {{SocketInfo{"s1", push::UserData::make("alice", 0), nullptr}, Json("yes")},
                   {SocketInfo{"s2", push::UserData::make("bob", 0), nullptr}, Json(2)}},
                  true};
  auto got = round_trip<msg::Acks>(*b, *a, batch, "node-a");
  EXPECT_TRUE(got.batch);
  ASSERT_EQ(got.acks.size(), 2u);
  EXPECT_EQ(got.acks[1].first.id, "s2");
  EXPECT_EQ(push::user_of(got.acks[1].first), "bob");
  EXPECT_EQ(got.acks[1].second, Json(2));

  auto dropped = round_trip<msg::Dropped>(
      *b, *a, msg::Dropped{"req-1", SocketInfo{"s3", push::UserData::make("carol", 0), nullptr}}, "node-a");
  EXPECT_EQ(dropped.request_id, "req-1");
  EXPECT_EQ(push::user_of(dropped.socket), "carol");
}

TEST_P(Wires, FoundSocketsAndServerSideRepliesComeBack) {
  msg::SocketsFound found{
      "req-2",
      {SocketInfo{"s1", push::UserData::make("alice", 0), Json{{"uid", "alice"}}, {"s1", "room1"}, Json::object()}}};
  auto got = round_trip<msg::SocketsFound>(*b, *a, found, "node-a");
  ASSERT_EQ(got.sockets.size(), 1u);
  EXPECT_EQ(got.sockets[0].id, "s1");
  EXPECT_EQ(push::user_of(got.sockets[0]), "alice") << "read from data.uid, as Herald nodes report it";
  EXPECT_EQ(got.sockets[0].rooms, (std::vector<std::string>{"s1", "room1"}));
  auto reply =
      round_trip<msg::ServerSideReply>(*b, *a, msg::ServerSideReply{"req-3", Json{{"socketsMoved", 2}}}, "node-a");
  EXPECT_EQ(reply.request_id, "req-3");
  EXPECT_EQ(reply.reply["socketsMoved"], 2);
}

TEST_P(Wires, GarbageIsMalformedNotACrash) {
  Message message;
  for (std::string payload : {"", "{", "\xc1", "[]", "{\"type\":\"x\"}", "\x93\xa1x"}) {
    auto decoded = a->decode(a->broadcast_channel(), payload, message);
    EXPECT_NE(decoded, Wire::Decoded::Ok) << "payload of " << payload.size() << " bytes";
  }
}

INSTANTIATE_TEST_SUITE_P(ClassicAndSharded, Wires, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "Sharded" : "Classic";
                         });

// ---- payloads as Node servers publish them ----

TEST(ClassicWire, DecodesANodeServersBroadcast) {
  // notepack.encode(["nodeuid", {type: 2, data: ["news", {a: 1}], nsp: "/"},
  //                 {rooms: ["room1"], except: ["room2"], flags: {}}])
  std::string payload = from_hex(
      "93a76e6f646575696483a47479706502a46461746192a46e65777381a16101a36e7370a12f83a5726f6f6d7391a5726f6f6d31a665786365"
      "70"
      "7491a5726f6f6d32a5666c61677380");
  ClassicWire wire("socket.io", "/", "herald");
  Message message;
  ASSERT_EQ(wire.decode("socket.io#/#room1#", payload, message), Wire::Decoded::Ok);
  EXPECT_EQ(message.sender, "nodeuid");
  const auto* broadcast = std::get_if<msg::Broadcast>(&message.body);
  ASSERT_NE(broadcast, nullptr);
  EXPECT_EQ(broadcast->packet.type, PacketType::Event);
  EXPECT_EQ(broadcast->packet.data, Json::array({"news", Json{{"a", 1}}}));
  EXPECT_EQ(broadcast->target.rooms, std::vector<std::string>{"room1"});
  EXPECT_EQ(broadcast->target.except, std::vector<std::string>{"room2"});
  EXPECT_FALSE(broadcast->stamp) << "Node servers send no recovery stamp";
}

TEST(ClassicWire, DecodesANodeServersBroadcastWithAckAndItsAck) {
  // notepack.encode({uid: "nodeuid", requestId: "abc123", type: 7,
  //                  packet: {type: 2, data: ["ask", 1], nsp: "/", id: 0},
  //                  opts: {rooms: [], except: [], flags: {timeout: 5000}}})
  std::string request = from_hex(
      "85a3756964a76e6f6465756964a9726571756573744964a6616263313233a47479706507a67061636b657484a47479706502a46461746192"
      "a361736b01a36e7370a12fa2696400a46f70747383a5726f6f6d7390a665786365707490a5666c61677381a774696d656f7574cd1388");
  ClassicWire wire("socket.io", "/", "herald");
  Message message;
  ASSERT_EQ(wire.decode("socket.io-request#/#", request, message), Wire::Decoded::Ok);
  const auto* broadcast = std::get_if<msg::BroadcastWithAck>(&message.body);
  ASSERT_NE(broadcast, nullptr);
  EXPECT_EQ(message.sender, "nodeuid");
  EXPECT_EQ(broadcast->request_id, "abc123");
  EXPECT_EQ(broadcast->packet.id, std::optional<uint64_t>(0));
  EXPECT_EQ(broadcast->timeout_ms, 5000);
  EXPECT_FALSE(broadcast->batch_acks) << "a Node requester takes one ack per answer";

  // notepack.encode({type: 9, requestId: "abc123", packet: ["yes"]}), on Herald's answer channel
  std::string answer = from_hex("83a47479706509a9726571756573744964a6616263313233a67061636b657491a3796573");
  ASSERT_EQ(wire.decode("socket.io-response#/#herald#", answer, message), Wire::Decoded::Ok);
  const auto* acks = std::get_if<msg::Acks>(&message.body);
  ASSERT_NE(acks, nullptr);
  EXPECT_EQ(acks->request_id, "abc123");
  ASSERT_EQ(acks->acks.size(), 1u);
  EXPECT_EQ(acks->acks[0].second, Json::array({"yes"}));
  EXPECT_EQ(push::user_of(acks->acks[0].first), "") << "a Node server does not say who acked";
}

TEST(ClassicWire, DecodesANodeServersJsonRequest) {
  ClassicWire wire("socket.io", "/", "herald");
  Message message;
  // JSON.stringify of the adapter's addSockets request (remoteJoin, type 2) and its remoteLeave (3)
  ASSERT_EQ(
      wire.decode("socket.io-request#/#",
                  R"({"uid":"nodeuid","type":3,"opts":{"rooms":["room1"],"except":[]},"rooms":["room9"]})", message),
      Wire::Decoded::Ok);
  const auto* change = std::get_if<msg::RoomChange>(&message.body);
  ASSERT_NE(change, nullptr);
  EXPECT_FALSE(change->join);
  EXPECT_EQ(change->target.rooms, std::vector<std::string>{"room1"});
  EXPECT_EQ(change->rooms, std::vector<std::string>{"room9"});
  EXPECT_TRUE(change->request_id.empty()) << "a request for many sockets is not answered";
}

TEST(ClassicWire, EncodesBroadcastsInTheLayoutNodeServersRead) {
  ClassicWire wire("socket.io", "/", "herald");
  Outgoing out = wire.encode(
      "herald",
      msg::Broadcast{event(Json::array({"news", 1})), TargetSpec{{"room1", "room2"}, {"room3"}, Json::object()}, {}});
  EXPECT_EQ(out.channel, "socket.io#/#") << "two rooms: the namespace's channel";
  // [uid, packet, opts] as msgpack, which Node's adapter reads with notepack.decode.
  Json message = Json::from_msgpack(out.payload);
  ASSERT_TRUE(message.is_array());
  ASSERT_GE(message.size(), 3u);
  EXPECT_EQ(message[0], "herald");
  EXPECT_EQ(message[1]["type"], 2);
  EXPECT_EQ(message[1]["data"], Json::array({"news", 1}));
  EXPECT_EQ(message[1]["nsp"], "/");
  EXPECT_FALSE(message[1].contains("id")) << "no ack asked";
  EXPECT_EQ(message[2]["rooms"], Json::array({"room1", "room2"}));
  EXPECT_EQ(message[2]["except"], Json::array({"room3"}));
}

TEST(ShardedWire, DecodesANodeServersBroadcast) {
  // JSON.stringify of ClusterAdapter's BROADCAST message (no binary: JSON, not msgpack)
  ShardedWire wire("socket.io", "/", "herald");
  Message message;
  ASSERT_EQ(
      wire.decode("socket.io#/#",
                  R"({"uid":"nodeuid","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["news",1],"nsp":"/"},)"
                  R"("opts":{"rooms":["room1"],"except":[],"flags":{}}}})",
                  message),
      Wire::Decoded::Ok);
  EXPECT_EQ(message.sender, "nodeuid");
  const auto* broadcast = std::get_if<msg::Broadcast>(&message.body);
  ASSERT_NE(broadcast, nullptr);
  EXPECT_EQ(broadcast->packet.data, Json::array({"news", 1}));
  EXPECT_EQ(broadcast->target.rooms, std::vector<std::string>{"room1"});
}

TEST(ShardedWire, EncodesMessagesInClusterAdaptersShape) {
  ShardedWire wire("socket.io", "/", "herald");
  Outgoing out = wire.encode("herald", msg::FetchSockets{"req-9", TargetSpec{{"room1"}, {}, Json::object()}});
  EXPECT_EQ(out.channel, "socket.io#/#");
  Json message = out.payload.starts_with("{") ? Json::parse(out.payload) : Json::from_msgpack(out.payload);
  EXPECT_EQ(message["uid"], "herald");
  EXPECT_EQ(message["nsp"], "/");
  EXPECT_EQ(message["type"], static_cast<int>(ClusterMessageType::FetchSockets));
  EXPECT_EQ(message["data"]["requestId"], "req-9");
  EXPECT_EQ(message["data"]["opts"]["rooms"], Json::array({"room1"}));
}

}  // namespace adapter_wire_test
}  // namespace herald::cluster
