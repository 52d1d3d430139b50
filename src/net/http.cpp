#include "net/http.hpp"

#include <algorithm>
#include <boost/beast/core/string.hpp>

namespace herald::net {

std::string_view HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
  return net::query_param(query, name);
}

bool origin_listed(const std::vector<std::string>& origins, std::string_view origin) {
  for (const auto& candidate : origins)
    if (candidate == "*" || candidate == origin) return true;
  return false;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  std::string_view rest = query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) return percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool HttpRequest::is_websocket_upgrade() const { return boost::beast::iequals(header("upgrade"), "websocket"); }

WebSocketHandshakeError HttpRequest::websocket_handshake_error() const {
  // Herald speaks version 13 only, the RFC's; 4.4 says how to refuse any other.
  if (header("sec-websocket-version") != "13") return WebSocketHandshakeError::BadVersion;
  // 16 bytes in base64: 22 characters, then the padding "==".
  std::string_view key = header("sec-websocket-key");
  if (key.size() != 24 || !key.ends_with("==")) return WebSocketHandshakeError::BadKey;
  for (char c : key.substr(0, 22)) {
    bool base64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (!base64) return WebSocketHandshakeError::BadKey;
  }
  return WebSocketHandshakeError::None;
}

HttpResponse HttpResponse::text(int status, std::string body, std::string content_type) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers.emplace_back("Content-Type", std::move(content_type));
  return response;
}

HttpResponse HttpResponse::json(int status, std::string body) {
  return text(status, std::move(body), "application/json");
}

void HttpRouter::add(std::string prefix, size_t body_limit, HttpHandler handler, bool essential) {
  routes_.push_back(Route{std::move(prefix), body_limit, std::move(handler), essential});
}

const HttpRouter::Route* HttpRouter::match(std::string_view path) const {
  for (const auto& route : routes_)
    if (path.starts_with(route.prefix)) return &route;
  return nullptr;
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else if (text[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace herald::net
