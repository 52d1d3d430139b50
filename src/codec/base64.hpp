// Standard base64 (RFC 4648, with padding), as Engine.IO long-polling uses for binary packets and the
// WebSocket handshake for its accept key; base64url for ids and JWT parts.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace herald::codec {

void base64_append(std::string& out, std::string_view bytes);
std::string base64_encode(std::string_view bytes);
// nullopt on any character outside the alphabet or a bad length/padding.
std::optional<std::string> base64_decode(std::string_view text);
// base64url without padding (RFC 4648 §5): session and socket ids, recovery pids, JWT parts.
std::string base64url_encode(std::string_view bytes);
// nullopt on '+', '/', '=' or anything else outside the URL-safe alphabet, or a bad length.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace herald::codec
