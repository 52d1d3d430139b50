// The PROXY protocol (HAProxy's, versions 1 and 2; F5, AWS and nginx send it too): a load balancer
// that passes TCP through writes, before the client's first byte, where the connection came from.
// Hand-written because no packaged library parses it, and it is small: one text line (v1) or a
// 16-byte header and addresses (v2). Pure and fuzzed (tests/fuzz/fuzz_proxy_protocol.cpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace herald::net {

// Longer v2 headers (TLVs up to 64 KB) are refused: what proxies send is a few hundred bytes.
inline constexpr size_t kMaxProxyHeader = 4096;

struct ProxyHeader {
  enum class Status : unsigned char {
    Incomplete,  // a valid beginning: read more
    Invalid,     // not a PROXY header, or a broken one (`error` says why)
    Done,        // `length` bytes are the header
  };
  Status status = Status::Incomplete;
  size_t length = 0;
  // The client's address; nullopt when the proxy speaks for itself (v1 UNKNOWN, v2 LOCAL: its own
  // health checks) or for a family that has no IP address (v2 UNIX, UNSPEC).
  std::optional<std::string> source;
  std::string error;
};

// Parses the start of a connection's bytes.
ProxyHeader parse_proxy_header(std::string_view bytes);

// Whether `bytes` (however few) are the beginning of a PROXY header of either version.
bool starts_like_proxy_header(std::string_view bytes);

}  // namespace herald::net
