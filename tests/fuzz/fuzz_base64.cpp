// libFuzzer target: base64 decoding (binary packets of Engine.IO polling payloads).
// Invariants: what decodes re-encodes to exactly the input (strict, canonical decoding), and what is
// encoded always decodes back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "codec/base64.hpp"

using namespace herald::codec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto decoded = base64_decode(input);
  if (decoded) {
    if (decoded->size() != size / 4 * 3 - (size && input[size - 1] == '=') - (size > 1 && input[size - 2] == '='))
      __builtin_trap();
    if (base64_encode(*decoded) != input) __builtin_trap();
  }

  // The input as raw bytes: encode then decode.
  std::string encoded = base64_encode(input);
  if (encoded.size() != (size + 2) / 3 * 4) __builtin_trap();
  auto back = base64_decode(encoded);
  if (!back || *back != input) __builtin_trap();
  return 0;
}
