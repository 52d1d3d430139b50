// How a client's Socket.IO packets are written on the wire: the Socket.IO parser it uses (the
// default one, text plus binary attachments, or socket.io-msgpack-parser's one msgpack message per
// packet) over the Engine.IO protocol of its session (v4, or v3 for socket.io-client 2.x). A
// broadcast is encoded at most once per encoding its recipients use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engineio/packet.hpp"

namespace herald::socketio {

// The parser setting: detect it per connection from the client's first packet (text: default,
// binary: msgpack), or take every client as one of them.
enum class ParserMode : uint8_t { Auto, Default, Msgpack };

enum class Parser : uint8_t { Default, Msgpack };

enum class Encoding : uint8_t { Text = 0, TextV3 = 1, Msgpack = 2, MsgpackV3 = 3 };
constexpr size_t kEncodings = 4;

constexpr Encoding encoding_of(engineio::Protocol protocol, Parser parser) {
  bool v3 = protocol == engineio::Protocol::V3;
  if (parser == Parser::Msgpack) return v3 ? Encoding::MsgpackV3 : Encoding::Msgpack;
  return v3 ? Encoding::TextV3 : Encoding::Text;
}

constexpr engineio::Protocol protocol_of(Encoding encoding) {
  return encoding == Encoding::TextV3 || encoding == Encoding::MsgpackV3 ? engineio::Protocol::V3
                                                                         : engineio::Protocol::V4;
}

constexpr Parser parser_of(Encoding encoding) {
  return encoding == Encoding::Msgpack || encoding == Encoding::MsgpackV3 ? Parser::Msgpack : Parser::Default;
}

constexpr size_t index_of(Encoding encoding) { return static_cast<size_t>(encoding); }

constexpr std::string_view parser_name(Parser parser) { return parser == Parser::Msgpack ? "msgpack" : "default"; }

}  // namespace herald::socketio
