#include "net/http_response_head.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <string_view>

namespace herald::net {
namespace {

using boost::beast::iequals;  // header names compare without case

bool set_by_connection(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") || iequals(name, "connection");
}

// A later header of the same name replaces this one (as Beast's `set` did).
bool replaced_later(const Headers& headers, size_t index) {
  for (size_t later = index + 1; later < headers.size(); ++later)
    if (iequals(headers[later].first, headers[index].first)) return true;
  return false;
}

void append_clean(std::string& out, std::string_view text) {
  size_t start = out.size();
  out.append(text);
  for (size_t i = start; i < out.size(); ++i)
    if (out[i] == '\r' || out[i] == '\n' || out[i] == '\0') out[i] = ' ';
}

void append_number(std::string& out, size_t value) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

}  // namespace

bool status_without_body(int status) { return status / 100 == 1 || status == 204 || status == 304; }

void write_response_head(std::string& out, const HttpResponse& response, size_t body_size, bool keep_alive) {
  namespace http = boost::beast::http;
  out.assign("HTTP/1.1 ");
  append_number(out, static_cast<size_t>(response.status));
  out.push_back(' ');
  auto reason = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(response.status)));
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  for (size_t i = 0; i < response.headers.size(); ++i) {
    const auto& [name, value] = response.headers[i];
    if (name.empty() || set_by_connection(name) || replaced_later(response.headers, i)) continue;
    append_clean(out, name);
    out.append(": ");
    append_clean(out, value);
    out.append("\r\n");
  }
  if (!status_without_body(response.status)) {
    out.append("Content-Length: ");
    append_number(out, body_size);
    out.append("\r\n");
  }
  if (!keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n");
}

std::string whole_response(const HttpResponse& response) {
  bool body = !status_without_body(response.status);
  std::string out;
  write_response_head(out, response, body ? response.body.size() : 0, false);
  if (body) out += response.body;
  return out;
}

}  // namespace herald::net
