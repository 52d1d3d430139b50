// Nesting limits for JSON text and msgpack, checked before parsing. nlohmann::json recurses in its
// msgpack reader, its serializer and its copies, so a value nested tens of thousands deep (a few
// hundred KB of `[`) would exhaust a loop thread's stack. These scans are iterative, one pass, and
// allocate nothing (msgpack: a stack of at most `max_depth` counts).
#pragma once

#include <cstddef>
#include <string_view>

namespace herald::codec {

// Deeper than any real client, backend or Node server sends; the same limit everywhere Herald
// parses JSON (client packets, the API, cluster messages, webhook answers).
constexpr size_t kMaxJsonDepth = 64;

// False when arrays/objects nest deeper than `max_depth`. Malformed text is not judged here: the
// parser that follows rejects it.
bool json_depth_within(std::string_view text, size_t max_depth = kMaxJsonDepth);

// The same for msgpack (arrays and maps). Truncated or malformed input gives true: the parser
// that follows rejects it.
bool msgpack_depth_within(std::string_view bytes, size_t max_depth = kMaxJsonDepth);

}  // namespace herald::codec
