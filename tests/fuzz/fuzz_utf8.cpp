// libFuzzer target: UTF-8 validation, checked against a byte-by-byte reference (Unicode table 3-7).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/utf8.hpp"

namespace {

bool reference(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c == 0xe0) {
      len = 3, lo = 0xa0;
    } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
      len = 3;
    } else if (c == 0xed) {
      len = 3, hi = 0x9f;
    } else if (c == 0xf0) {
      len = 4, lo = 0x90;
    } else if (c >= 0xf1 && c <= 0xf3) {
      len = 4;
    } else if (c == 0xf4) {
      len = 4, hi = 0x8f;
    } else {
      return false;
    }
    if (n - i < len) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xbf) return false;
    i += len;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bool valid = herald::codec::is_valid_utf8(std::string_view(reinterpret_cast<const char*>(data), size));
  if (valid != reference(data, size)) __builtin_trap();
  return 0;
}
