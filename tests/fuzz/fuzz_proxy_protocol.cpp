// libFuzzer target: the PROXY protocol header parser (v1 and v2). Invariants: a parsed header takes
// no more bytes than given and never more than the bound; a complete header parses the same with
// anything after it; a prefix of a complete header is never refused, only incomplete.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/proxy_protocol.hpp"

using herald::net::kMaxProxyHeader;
using herald::net::parse_proxy_header;
using herald::net::ProxyHeader;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ProxyHeader header = parse_proxy_header(input);
  if (header.status != ProxyHeader::Status::Done) return 0;
  if (header.length == 0 || header.length > size || header.length > kMaxProxyHeader) __builtin_trap();
  std::string_view exact = input.substr(0, header.length);
  ProxyHeader again = parse_proxy_header(exact);
  if (again.status != ProxyHeader::Status::Done || again.length != header.length || again.source != header.source)
    __builtin_trap();
  std::string longer(exact);
  longer += "GET / HTTP/1.1\r\n";
  ProxyHeader followed = parse_proxy_header(longer);
  if (followed.status != ProxyHeader::Status::Done || followed.length != header.length) __builtin_trap();
  for (size_t cut = 1; cut < header.length; ++cut)
    if (parse_proxy_header(exact.substr(0, cut)).status != ProxyHeader::Status::Incomplete) __builtin_trap();
  return 0;
}
