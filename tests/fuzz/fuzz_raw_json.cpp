// Raw JSON text (codec/raw_json.hpp): whatever raw_json() accepts is one JSON value with no NUL
// byte, and a packet carrying it, written as text and parsed back, holds the value that parsing
// the input gives; the object scan finds the members the parser finds.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "codec/json_depth.hpp"
#include "codec/raw_json.hpp"
#include "socketio/packet.hpp"

namespace {

using herald::Json;
namespace codec = herald::codec;
namespace sio = herald::socketio;

void check_raw(std::string_view input) {
  auto raw = codec::raw_json(input);
  bool parses = input.find('\0') == std::string_view::npos && codec::json_depth_within(input) &&
                !Json::parse(input, nullptr, false).is_discarded();
  if (raw.has_value() != parses) __builtin_trap();
  if (!raw) return;
  std::string_view text = codec::raw_json_text(*raw);
  if (text.find('\0') != std::string_view::npos) __builtin_trap();
  Json expected = Json::parse(input);

  // Through the Socket.IO encoder: `2["message","m",<raw>]` parses to the input's value.
  sio::Packet packet{sio::PacketType::Event, "/", std::nullopt, Json::array({"message", "m", *raw})};
  sio::EncodedPacket encoded = sio::encode(packet);
  if (!encoded.attachments.empty() || encoded.text.find(text) == std::string::npos) __builtin_trap();
  Json data = Json::parse(std::string_view(encoded.text).substr(1), nullptr, false);
  if (data.is_discarded() || data.size() != 3 || data[2] != expected) __builtin_trap();
  // Expanded (what msgpack clients and Node servers get), it is the parsed value.
  Json value = *raw;
  codec::expand_raw_json(value);
  if (value != expected) __builtin_trap();

  // Members found by the scan: the parser's keys, and their texts parse to the parser's values.
  if (expected.is_object()) {
    for (const auto& [key, member] : codec::object_members(text)) {
      auto found = expected.find(key);
      if (found == expected.end()) __builtin_trap();
      auto member_raw = codec::raw_json(member);
      if (!member_raw) __builtin_trap();
    }
  } else if (expected.is_array()) {
    auto elements = codec::array_elements(text);
    if (elements.size() != expected.size()) __builtin_trap();
    for (size_t i = 0; i < elements.size(); ++i)
      if (Json::parse(elements[i], nullptr, false) != expected[i]) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_raw(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
