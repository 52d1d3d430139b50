#include "notify/mail_message.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <ctime>
#include <random>
#include <vector>

#include "codec/base64.hpp"

namespace herald::notify {
namespace {

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool continues_char(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The To field, folded so that no line passes 78 characters.
std::string address_list(const std::vector<std::string>& addresses) {
  std::string out;
  size_t line = 4;  // "To: "
  for (const auto& raw : addresses) {
    std::string address = header_text(raw);
    if (!out.empty()) {
      bool fold = line + 2 + address.size() > 78;
      out += fold ? ",\r\n " : ", ";
      line = fold ? 1 : line + 2;
    }
    out += address;
    line += address.size();
  }
  return out;
}

// RFC 5322 3.6.4: unique left part, a domain on the right (the sender's, as mail clients do).
std::string message_id(std::string_view from) {
  std::string domain;
  auto at = from.rfind('@');
  if (at != std::string_view::npos) {
    for (char c : from.substr(at + 1))
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') domain += c;
  }
  if (domain.empty()) domain = "herald.localhost";
  std::random_device random;
  uint64_t high = (uint64_t{random()} << 32) | random();
  uint64_t low = (uint64_t{random()} << 32) | random();
  return fmt::format("<{:016x}{:016x}@{}>", high, low, domain);
}

std::string time_text(std::chrono::system_clock::time_point time) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC", fmt::gmtime(std::chrono::system_clock::to_time_t(time)));
}

}  // namespace

std::string alert_subject(const AlertConfig& config, const AlertMessage& message) {
  return fmt::format("[herald{}{}] {} {}", config.node.empty() ? "" : " ", config.node,
                     message.state == "alert" ? "ALERT" : "RECOVERED", message.kind);
}

std::string compose_alert_mail(const AlertConfig& config, const AlertMessage& message,
                               std::chrono::system_clock::time_point now) {
  std::string body = crlf_body(fmt::format("{}\n\nnode: {}\ntime: {}\n", message.text, config.node, time_text(now)));
  return fmt::format(
      "Date: {}\r\nFrom: {}\r\nTo: {}\r\nSubject: {}\r\nMessage-ID: {}\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: {}\r\n\r\n{}",
      rfc5322_date(now), header_text(config.from), address_list(config.to),
      encode_header_words(header_text(alert_subject(config, message))), message_id(config.from),
      is_ascii(body) ? "7bit" : "8bit", body);
}

std::string envelope_address(std::string_view address) {
  std::string out = "<";
  for (char c : address)
    if (static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != '<' && c != '>') out += c;
  return out + ">";
}

std::string rfc5322_date(std::chrono::system_clock::time_point time) {
  // Fixed English names: the field is not localised (RFC 5322 3.3).
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string header_text(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) c = ' ';
  return out;
}

std::string encode_header_words(std::string_view text) {
  if (is_ascii(text)) return std::string(text);
  // Encoded words of at most 75 characters (RFC 2047 2), each holding whole UTF-8 characters.
  constexpr size_t kChunk = 45;  // 60 base64 characters + 12 of "=?UTF-8?B?" and "?="
  std::string out;
  while (!text.empty()) {
    size_t n = std::min(kChunk, text.size());
    while (n < text.size() && n > 1 && continues_char(text[n])) --n;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + codec::base64_encode(text.substr(0, n)) + "?=";
    text.remove_prefix(n);
  }
  return out;
}

std::string crlf_body(std::string_view text) {
  std::string out;
  size_t line = 0;  // octets in the current line
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
      line = 0;
      continue;
    }
    if (c == '\0') continue;
    // RFC 5322 2.1.1: at most 998 octets a line; break between characters, not inside one.
    if (line >= 990 && !continues_char(c)) {
      out += "\r\n";
      line = 0;
    }
    out += c;
    ++line;
  }
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

}  // namespace herald::notify
