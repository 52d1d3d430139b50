// The few URL forms the tools take: ws://host:port/namespace and http://host:port.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald::bench {

struct Url {
  std::string scheme;  // lower case: ws, http
  std::string host;    // without IPv6 brackets
  uint16_t port = 0;
  std::string path;  // "/" when absent

  // "host:port" as sent in the Host header.
  std::string host_header() const;
};

// Parses `text`; on failure returns nullopt and says why in `error`.
std::optional<Url> parse_url(std::string_view text, std::string& error);

}  // namespace herald::bench
