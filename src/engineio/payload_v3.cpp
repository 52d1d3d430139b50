#include "engineio/payload_v3.hpp"

#include <algorithm>
#include <cstdint>

#include "codec/base64.hpp"
#include "codec/utf8.hpp"

namespace herald::engineio {
namespace {

using codec::base64_append;
using codec::base64_decode;

// More digits than any body Herald accepts could need; bounds the arithmetic.
constexpr size_t kMaxLengthDigits = 10;
constexpr uint8_t kBinaryFormEnd = 0xff;

size_t decimal_digits(size_t value) {
  size_t digits = 1;
  while (value >= 10) {
    value /= 10;
    ++digits;
  }
  return digits;
}

// The length in bytes of the UTF-8 sequence at `p` (1 for an invalid one), and its UTF-16 units.
std::pair<size_t, size_t> utf8_sequence(std::string_view text, size_t p) {
  auto c = static_cast<uint8_t>(text[p]);
  size_t length = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
  if (length == 0 || text.size() - p < length) return {1, 1};
  for (size_t i = 1; i < length; ++i)
    if ((static_cast<uint8_t>(text[p + i]) & 0xc0) != 0x80) return {1, 1};
  return {length, length == 4 ? 2 : 1};
}

// The byte offset `units` UTF-16 code units after `start`; npos when the text is shorter, or when
// the count would end inside a surrogate pair (JavaScript would split a character).
size_t advance_units(std::string_view text, size_t start, size_t units) {
  size_t p = start;
  while (units > 0) {
    if (p >= text.size()) return std::string_view::npos;
    auto [bytes, count] = utf8_sequence(text, p);
    if (count > units) return std::string_view::npos;
    units -= count;
    p += bytes;
  }
  return p;
}

// One packet of a text payload (or a text packet of the binary form); an error or empty.
std::string decode_one(std::string_view message, std::vector<Packet>& packets) {
  if (message[0] == 'b') {
    // A binary packet the client sent as base64: 'b', the type digit, the bytes.
    if (message.size() < 2 || message[1] != '4') return "a base64 packet must be a message (b4...)";
    auto bytes = base64_decode(message.substr(2));
    if (!bytes) return "invalid base64 in a binary packet";
    packets.push_back(Packet{PacketType::Message, true, std::move(*bytes)});
    return {};
  }
  auto packet = decode_text_packet(message);
  if (!packet) return "unknown packet type";
  packets.push_back(std::move(*packet));
  return {};
}

DecodedPayloadV3 failure(std::string why) { return DecodedPayloadV3{{}, std::move(why)}; }

DecodedPayloadV3 decode_text_form(std::string_view body) {
  if (!codec::is_valid_utf8(body)) return failure("payload is not valid UTF-8");
  DecodedPayloadV3 out;
  size_t i = 0;
  while (i < body.size()) {
    size_t colon = body.find(':', i);
    if (colon == std::string_view::npos) return failure("payload ends without a packet");
    std::string_view digits = body.substr(i, colon - i);
    if (digits.empty() || digits.size() > kMaxLengthDigits ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return failure("invalid packet length '" + std::string(digits.substr(0, kMaxLengthDigits + 1)) + "'");
    size_t units = 0;
    for (char c : digits) units = units * 10 + static_cast<size_t>(c - '0');
    size_t end = advance_units(body, colon + 1, units);
    if (end == std::string_view::npos) return failure("packet length " + std::string(digits) + " exceeds the payload");
    // `0:` is an empty packet: allowed, and nothing.
    if (end > colon + 1) {
      if (auto error = decode_one(body.substr(colon + 1, end - colon - 1), out.packets); !error.empty())
        return failure(std::move(error));
    }
    i = end;
  }
  return out;
}

DecodedPayloadV3 decode_binary_form(std::string_view body) {
  DecodedPayloadV3 out;
  size_t i = 0;
  while (i < body.size()) {
    auto marker = static_cast<uint8_t>(body[i++]);
    if (marker > 1) return failure("invalid packet marker in a binary payload");
    size_t length = 0;
    size_t digits = 0;
    while (true) {
      if (i >= body.size()) return failure("binary payload ends inside a packet length");
      auto digit = static_cast<uint8_t>(body[i++]);
      if (digit == kBinaryFormEnd) break;
      if (digit > 9) return failure("invalid packet length digit in a binary payload");
      if (++digits > kMaxLengthDigits) return failure("packet length too long in a binary payload");
      length = length * 10 + digit;
    }
    if (digits == 0) return failure("missing packet length in a binary payload");
    if (length > body.size() - i) return failure("packet length exceeds the binary payload");
    std::string_view message = body.substr(i, length);
    i += length;
    if (message.empty()) return failure("empty packet in a binary payload");
    if (marker == 0) {
      if (!codec::is_valid_utf8(message)) return failure("text packet is not valid UTF-8");
      if (auto error = decode_one(message, out.packets); !error.empty()) return failure(std::move(error));
    } else {
      if (static_cast<uint8_t>(message[0]) != static_cast<uint8_t>(PacketType::Message))
        return failure("a binary packet must be a message");
      out.packets.push_back(Packet{PacketType::Message, true, std::string(message.substr(1))});
    }
  }
  return out;
}

// The type a binary packet goes out as (v4-form packets are messages).
char binary_type(const OutPacket& packet) {
  return packet.type_byte && !packet.bytes->empty() ? (*packet.bytes)[0] : static_cast<char>(PacketType::Message);
}

size_t base64_size(size_t bytes) { return (bytes + 2) / 3 * 4; }

}  // namespace

size_t utf16_length(std::string_view utf8) {
  size_t units = 0;
  for (size_t p = 0; p < utf8.size();) {
    auto [bytes, count] = utf8_sequence(utf8, p);
    units += count;
    p += bytes;
  }
  return units;
}

DecodedPayloadV3 decode_payload_v3(std::string_view body, bool binary_form) {
  if (body.empty()) return failure("empty payload");
  return binary_form ? decode_binary_form(body) : decode_text_form(body);
}

size_t encode_payload_v3(std::span<const OutPacket> packets, size_t max_bytes, bool binary_allowed, std::string& out,
                         bool& binary_form) {
  binary_form =
      binary_allowed && std::any_of(packets.begin(), packets.end(), [](const OutPacket& p) { return p.binary; });
  // Each packet's length as the form counts it, and its size in the body.
  auto measure = [binary_form](const OutPacket& packet) -> std::pair<size_t, size_t> {
    if (binary_form) {
      size_t length = packet.binary ? 1 + binary_data(packet).size() : packet.bytes->size();
      return {length, 2 + decimal_digits(length) + length};
    }
    if (packet.binary) {
      size_t length = 2 + base64_size(binary_data(packet).size());
      return {length, decimal_digits(length) + 1 + length};
    }
    size_t length = utf16_length(*packet.bytes);
    return {length, decimal_digits(length) + 1 + packet.bytes->size()};
  };
  size_t taken = 0;
  size_t total = 0;
  for (const auto& packet : packets) {
    size_t size = measure(packet).second;
    if (taken && total + size > max_bytes) break;
    total += size;
    ++taken;
  }
  out.reserve(out.size() + total);
  for (size_t i = 0; i < taken; ++i) {
    const OutPacket& packet = packets[i];
    size_t length = measure(packet).first;
    if (binary_form) {
      out += static_cast<char>(packet.binary ? 1 : 0);
      for (char digit : std::to_string(length)) out += static_cast<char>(digit - '0');
      out += static_cast<char>(kBinaryFormEnd);
      if (packet.binary) {
        out += binary_type(packet);
        out += binary_data(packet);
      } else {
        out += *packet.bytes;
      }
      continue;
    }
    out += std::to_string(length);
    out += ':';
    if (packet.binary) {
      out += 'b';
      out += static_cast<char>('0' + binary_type(packet));
      base64_append(out, binary_data(packet));
    } else {
      out += *packet.bytes;
    }
  }
  return taken;
}

}  // namespace herald::engineio
