// JSON text to herald::Json in one validating pass with simdjson (syntax and UTF-8 checked at a
// few GB/s, its buffers kept per thread), where nlohmann's parser allocates as its tokens grow and
// keeps a stack of its own for every value. Client packets (events, acks) read through it; API
// bodies through codec/json_object_reader.hpp, which reads the same way.
//
// simdjson refuses a few texts nlohmann takes (integers beyond 64 bits, numbers beyond double's
// range, a byte order mark): for those, and for every text it refuses, read_json answers nullopt
// and the caller asks nlohmann, whose verdict and reading stay the reference. What both take reads
// the same: numbers as nlohmann types them (`-0` an integer), duplicate keys the last one's value
// at the first one's place, keys in the order written.
#pragma once

#include <optional>
#include <string_view>

#include "codec/json.hpp"

namespace herald::codec {

std::optional<Json> read_json(std::string_view text);

// Whether `text` is one JSON value: simdjson's yes, else nlohmann's verdict (the reference).
// Without building a value, as nlohmann's accept(), at simdjson's speed for what it takes.
bool json_text_valid(std::string_view text);

}  // namespace herald::codec
