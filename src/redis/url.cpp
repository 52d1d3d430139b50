// Redis URLs: redis://[[user]:password@]host[:port][/db] and rediss:// (TLS), and their
// description for logs with the password hidden.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "redis/connection.hpp"

namespace herald::redis {
namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes, so that a password may hold ':', '@', '/' or any byte.
bool percent_decode(std::string_view text, std::string& out) {
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return false;
    int high = hex_value(text[i + 1]);
    int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return false;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return true;
}

template <class Int>
bool parse_decimal(std::string_view text, Int& value) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::optional<Endpoint> parse_url(std::string_view url, std::string& error) {
  Endpoint endpoint;
  std::string_view rest;
  if (starts_with_nocase(url, "redis://")) {
    rest = url.substr(8);
  } else if (starts_with_nocase(url, "rediss://")) {
    rest = url.substr(9);
    endpoint.tls = true;
  } else {
    error = "unsupported Redis URL (expected redis:// or rediss://): " + std::string(url.substr(0, url.find("://")));
    return std::nullopt;
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    error = "Redis URL options (?...) are not supported";
    return std::nullopt;
  }

  // The host part holds no '@', so the last one ends the credentials (a password may hold '@').
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      error = "Redis URL credentials must be user:password@ or :password@";
      return std::nullopt;
    }
    if (!percent_decode(userinfo.substr(0, colon), endpoint.username) ||
        !percent_decode(userinfo.substr(colon + 1), endpoint.password)) {
      error = "bad %-escape in Redis URL credentials";
      return std::nullopt;
    }
  }

  std::string_view hostport = rest.substr(0, rest.find('/'));
  std::string_view path = hostport.size() < rest.size() ? rest.substr(hostport.size() + 1) : std::string_view();

  std::optional<std::string_view> port;                // set when a ':' follows the host
  if (!hostport.empty() && hostport.front() == '[') {  // [IPv6]:port
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      error = "bad IPv6 address in Redis URL";
      return std::nullopt;
    }
    endpoint.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "bad IPv6 address in Redis URL";
        return std::nullopt;
      }
      port = after.substr(1);
    }
  } else {
    size_t colon = hostport.rfind(':');
    endpoint.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port = hostport.substr(colon + 1);
  }
  if (endpoint.host.empty()) {
    error = "Redis URL has no host";
    return std::nullopt;
  }
  if (port) {
    uint32_t value = 0;
    if (!parse_decimal(*port, value) || value == 0 || value > 65535) {
      error = "bad port in Redis URL: '" + std::string(*port) + "'";
      return std::nullopt;
    }
    endpoint.port = static_cast<uint16_t>(value);
  }
  if (!path.empty()) {
    int db = 0;
    if (!parse_decimal(path, db)) {
      error = "bad database number in Redis URL: '" + std::string(path) + "'";
      return std::nullopt;
    }
    endpoint.db = db;
  }
  return endpoint;
}

std::optional<Endpoint> parse_address(std::string_view address, std::string& error) {
  bool has_port = !address.empty() && address.back() != ']' && address.rfind(':') != std::string_view::npos;
  if (address.find_first_of("@/") != std::string_view::npos || !has_port) {
    error = "expected host:port, got '" + std::string(address) + "'";
    return std::nullopt;
  }
  auto endpoint = parse_url("redis://" + std::string(address), error);
  if (!endpoint) error = "bad address '" + std::string(address) + "': " + error;
  return endpoint;
}

std::string describe(const Endpoint& endpoint) {
  std::string text = endpoint.tls ? "rediss://" : "redis://";
  if (!endpoint.username.empty() || !endpoint.password.empty()) {
    text += endpoint.username;
    text += endpoint.password.empty() ? ":@" : ":***@";
  }
  bool ipv6 = endpoint.host.find(':') != std::string::npos;
  text += ipv6 ? "[" + endpoint.host + "]" : endpoint.host;
  text += ":" + std::to_string(endpoint.port);
  if (endpoint.db != 0) text += "/" + std::to_string(endpoint.db);
  return text;
}

}  // namespace herald::redis
