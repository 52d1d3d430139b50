#include "codec/json_depth.hpp"

#include <cstdint>
#include <vector>

namespace herald::codec {

bool json_depth_within(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      if (depth) --depth;
    }
  }
  return true;
}

namespace {

// Reads a big-endian unsigned integer of `size` bytes at `pos`; false when truncated.
bool read_length(std::string_view bytes, size_t& pos, size_t size, uint64_t& out) {
  if (bytes.size() - pos < size) return false;
  out = 0;
  for (size_t i = 0; i < size; ++i) out = (out << 8) | static_cast<uint8_t>(bytes[pos + i]);
  pos += size;
  return true;
}

// Skips `count` payload bytes; false when truncated.
bool skip(std::string_view bytes, size_t& pos, uint64_t count) {
  if (bytes.size() - pos < count) return false;
  pos += static_cast<size_t>(count);
  return true;
}

}  // namespace

bool msgpack_depth_within(std::string_view bytes, size_t max_depth) {
  // Items still to read in each open container, innermost last.
  std::vector<uint64_t> open;
  size_t pos = 0;
  while (pos < bytes.size()) {
    auto type = static_cast<uint8_t>(bytes[pos++]);
    uint64_t length = 0;
    uint64_t children = 0;
    bool container = false;
    if (type <= 0x7f || type >= 0xe0 || (type >= 0xc0 && type <= 0xc3)) {
      // fixint, nil, (unused), false, true: the type byte is all
    } else if (type <= 0x8f) {
      container = true, children = uint64_t{type & 0x0fu} * 2;
    } else if (type <= 0x9f) {
      container = true, children = type & 0x0fu;
    } else if (type <= 0xbf) {
      if (!skip(bytes, pos, type & 0x1fu)) return true;
    } else {
      switch (type) {
        case 0xc4:
        case 0xd9:  // bin8, str8
          if (!read_length(bytes, pos, 1, length) || !skip(bytes, pos, length)) return true;
          break;
        case 0xc5:
        case 0xda:  // bin16, str16
          if (!read_length(bytes, pos, 2, length) || !skip(bytes, pos, length)) return true;
          break;
        case 0xc6:
        case 0xdb:  // bin32, str32
          if (!read_length(bytes, pos, 4, length) || !skip(bytes, pos, length)) return true;
          break;
        case 0xc7:  // ext8: length, type, data
          if (!read_length(bytes, pos, 1, length) || !skip(bytes, pos, length + 1)) return true;
          break;
        case 0xc8:
          if (!read_length(bytes, pos, 2, length) || !skip(bytes, pos, length + 1)) return true;
          break;
        case 0xc9:
          if (!read_length(bytes, pos, 4, length) || !skip(bytes, pos, length + 1)) return true;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:  // 4-byte numbers
          if (!skip(bytes, pos, 4)) return true;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:  // 8-byte numbers
          if (!skip(bytes, pos, 8)) return true;
          break;
        case 0xcc:
        case 0xd0:
          if (!skip(bytes, pos, 1)) return true;
          break;
        case 0xcd:
        case 0xd1:
          if (!skip(bytes, pos, 2)) return true;
          break;
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:  // fixext 1, 2, 4, 8, 16 (+ type)
          if (!skip(bytes, pos, 1 + (size_t{1} << (type - 0xd4)))) return true;
          break;
        case 0xdc:
        case 0xde:  // array16, map16
          if (!read_length(bytes, pos, 2, length)) return true;
          container = true, children = type == 0xde ? length * 2 : length;
          break;
        case 0xdd:
        case 0xdf:  // array32, map32
          if (!read_length(bytes, pos, 4, length)) return true;
          container = true, children = type == 0xdf ? length * 2 : length;
          break;
        default:
          return true;
      }
    }
    // This item fills one place in the container around it.
    if (!open.empty()) --open.back();
    if (container && children > 0) {
      if (open.size() + 1 > max_depth) return false;
      open.push_back(children);
    } else if (container && open.size() + 1 > max_depth) {
      return false;
    }
    while (!open.empty() && open.back() == 0) open.pop_back();
  }
  return true;
}

}  // namespace herald::codec
