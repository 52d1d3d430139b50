#include "ws/frame.hpp"

namespace herald::bench::ws {
namespace {

constexpr uint8_t kFin = 0x80;
constexpr uint8_t kReservedBits = 0x70;
constexpr uint8_t kOpcodeBits = 0x0f;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLengthBits = 0x7f;
constexpr uint8_t kLength16 = 126;  // a 16-bit length follows
constexpr uint8_t kLength64 = 127;  // a 64-bit length follows
constexpr size_t kMaxControlPayload = 125;

bool is_known(uint8_t opcode) { return opcode <= 2 || (opcode >= 8 && opcode <= 10); }
bool is_control(uint8_t opcode) { return opcode >= 8; }

uint64_t big_endian(const unsigned char* bytes, size_t count) {
  uint64_t value = 0;
  for (size_t i = 0; i < count; ++i) value = (value << 8) | bytes[i];
  return value;
}

}  // namespace

ParseResult parse_frame(std::string_view data, uint64_t max_payload, Frame& frame) {
  if (data.size() < 2) return ParseResult::Incomplete;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  uint8_t opcode = bytes[0] & kOpcodeBits;
  if ((bytes[0] & kReservedBits) || !is_known(opcode) || (bytes[1] & kMaskBit)) return ParseResult::Invalid;
  bool fin = (bytes[0] & kFin) != 0;
  uint64_t length = bytes[1] & kLengthBits;
  size_t header = 2;
  if (length == kLength16) {
    header += 2;
    if (data.size() < header) return ParseResult::Incomplete;
    length = big_endian(bytes + 2, 2);
    if (length < kLength16) return ParseResult::Invalid;  // lengths are encoded in the fewest bytes
  } else if (length == kLength64) {
    header += 8;
    if (data.size() < header) return ParseResult::Incomplete;
    length = big_endian(bytes + 2, 8);
    if (length <= 0xffff || (length >> 63)) return ParseResult::Invalid;
  }
  if (is_control(opcode) && (!fin || length > kMaxControlPayload)) return ParseResult::Invalid;
  if (length > max_payload) return ParseResult::TooBig;
  if (data.size() - header < length) return ParseResult::Incomplete;
  frame.opcode = static_cast<Opcode>(opcode);
  frame.fin = fin;
  frame.payload = data.substr(header, static_cast<size_t>(length));
  frame.size = header + static_cast<size_t>(length);
  return ParseResult::Complete;
}

void append_frame(std::string& out, Opcode opcode, std::string_view payload, uint32_t mask) {
  unsigned char header[14];
  size_t size = 0;
  header[size++] = kFin | static_cast<uint8_t>(opcode);
  if (payload.size() < kLength16) {
    header[size++] = kMaskBit | static_cast<uint8_t>(payload.size());
  } else if (payload.size() <= 0xffff) {
    header[size++] = kMaskBit | kLength16;
    for (int shift = 8; shift >= 0; shift -= 8) header[size++] = static_cast<unsigned char>(payload.size() >> shift);
  } else {
    header[size++] = kMaskBit | kLength64;
    for (int shift = 56; shift >= 0; shift -= 8)
      header[size++] = static_cast<unsigned char>(static_cast<uint64_t>(payload.size()) >> shift);
  }
  unsigned char key[4] = {static_cast<unsigned char>(mask >> 24), static_cast<unsigned char>(mask >> 16),
                          static_cast<unsigned char>(mask >> 8), static_cast<unsigned char>(mask)};
  for (unsigned char byte : key) header[size++] = byte;

  size_t start = out.size();
  out.append(reinterpret_cast<const char*>(header), size);
  out.append(payload);
  char* masked = out.data() + start + size;
  for (size_t i = 0; i < payload.size(); ++i) masked[i] = static_cast<char>(masked[i] ^ key[i % 4]);
}

}  // namespace herald::bench::ws
