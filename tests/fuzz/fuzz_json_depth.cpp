// The nesting scans: whatever they accept, nlohmann::json parses and serializes without running
// out of stack, and the msgpack scan agrees with the JSON scan on the same value.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "codec/json_depth.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Json = nlohmann::json;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (herald::codec::json_depth_within(input)) {
    Json value = Json::parse(input, nullptr, false);
    if (!value.is_discarded()) {
      std::string packed;
      Json::to_msgpack(value, packed);
      if (!herald::codec::msgpack_depth_within(packed)) __builtin_trap();
      (void)value.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
  }
  if (herald::codec::msgpack_depth_within(input)) {
    Json value = Json::from_msgpack(input, true, false);
    if (!value.is_discarded()) (void)value.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  return 0;
}
