// The bytes of an HTTP/1.1 answer's status line and header, written into a string the connection
// reuses: it sends them and the body with one gather write. Beast's serializer, which did this
// before, cost more CPU per answer than the push API's whole handler (a field container with an
// allocation per header, a composed write per answer); the rules below are the ones it applied.
#pragma once

#include <string>

#include "net/http.hpp"

namespace herald::net {

// 1xx, 204 and 304 answers carry no body and no Content-Length (RFC 9110, 6.4.1 and 8.6).
bool status_without_body(int status);

// Replaces `out` with the status line and header of `response` for a body of `body_size` bytes:
// - Content-Length from `body_size` (none for status_without_body);
// - "Connection: close" unless `keep_alive`;
// - the response's own Content-Length, Transfer-Encoding and Connection are left out (the
//   connection decides those), and a later header replaces an earlier one of the same name;
// - CR, LF and NUL in a name or value become spaces, so no value can start a header of its own.
void write_response_head(std::string& out, const HttpResponse& response, size_t body_size, bool keep_alive);

// The whole answer, head and body, for a connection that ends with it (keep_alive false).
std::string whole_response(const HttpResponse& response);

}  // namespace herald::net
