// The Engine.IO v3 long-polling payload (engine.io-parser 2.x, socket.io-client 2.x), both forms:
//  - text: each packet as `<length>:<packet>`, the length in UTF-16 code units as JavaScript's
//    String length counts them; binary packets as `b4<base64>`;
//  - binary (clients that take binary, i.e. browsers with XHR2; application/octet-stream): per
//    packet a 0 (text) or 1 (binary) byte, its byte length as one byte per decimal digit, 0xff,
//    then the packet: UTF-8 text, or the type byte followed by the bytes.
// Pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engineio/packet.hpp"

namespace herald::engineio {

// A decoded POST body, or why it was refused (`error` empty on success).
struct DecodedPayloadV3 {
  std::vector<Packet> packets;
  std::string error;
};

// `binary_form`: the body came as application/octet-stream. Never throws; any malformed or
// truncated body gets an error.
DecodedPayloadV3 decode_payload_v3(std::string_view body, bool binary_form);

// Encodes packets for a GET response. Uses the binary form when `binary_allowed` and a binary
// packet is among them (`binary_form` says which was used). As encode_payload: stops before the
// packet that would make the body exceed `max_bytes`, takes at least one, returns how many.
size_t encode_payload_v3(std::span<const OutPacket> packets, size_t max_bytes, bool binary_allowed, std::string& out,
                         bool& binary_form);

// JavaScript's length of UTF-8 text: UTF-16 code units (a character past U+FFFF counts two).
// Bytes of invalid UTF-8 count one each.
size_t utf16_length(std::string_view utf8);

}  // namespace herald::engineio
