// UTF-8 validation (RFC 3629): WebSocket text frames must be valid UTF-8 (RFC 6455 8.1).
#pragma once

#include <string_view>

namespace herald::codec {

bool is_valid_utf8(std::string_view text);

}  // namespace herald::codec
