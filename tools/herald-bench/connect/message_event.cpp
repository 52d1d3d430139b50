#include "connect/message_event.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

namespace herald::bench {
namespace {

constexpr size_t kNone = std::string_view::npos;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skip_space(std::string_view text, size_t pos) {
  while (pos < text.size() && is_space(text[pos])) ++pos;
  return pos;
}

// Just past the JSON string that opens at `pos`, or kNone if it never closes. Quotes are found
// with memchr: a message's padding is skipped at memory speed.
size_t end_of_string(std::string_view text, size_t pos) {
  for (size_t from = pos + 1; from < text.size();) {
    const void* found = std::memchr(text.data() + from, '"', text.size() - from);
    if (!found) return kNone;
    size_t quote = static_cast<size_t>(static_cast<const char*>(found) - text.data());
    // Escaped when an odd number of backslashes precede it (the opening quote stops the count).
    size_t backslashes = 0;
    while (text[quote - 1 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return quote + 1;
    from = quote + 1;
  }
  return kNone;
}

// Just past the JSON value that starts at `pos` (no space before it), or kNone if malformed.
// Containers are matched by their brackets only; numbers and literals run to the next delimiter.
size_t end_of_value(std::string_view text, size_t pos) {
  if (pos >= text.size()) return kNone;
  if (text[pos] == '"') return end_of_string(text, pos);
  if (text[pos] == '{' || text[pos] == '[') {
    size_t depth = 0;
    while (pos < text.size()) {
      char c = text[pos];
      if (c == '"') {
        pos = end_of_string(text, pos);
        if (pos == kNone) return kNone;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if ((c == '}' || c == ']') && --depth == 0) return pos + 1;
      ++pos;
    }
    return kNone;
  }
  size_t end = pos;
  while (end < text.size() && text[end] != ',' && text[end] != ']' && text[end] != '}' && text[end] != ' ') ++end;
  return end == pos ? kNone : end;
}

// A JSON number as whole microseconds. An integer up to 2^53 (what `push` writes: epoch
// microseconds), which a double holds exactly, is read directly; anything else goes through a
// double, as JSON numbers are doubles.
std::optional<int64_t> parse_time(std::string_view number) {
  constexpr size_t kMaxDigits = 16;
  constexpr int64_t kLargestExact = int64_t{1} << 53;
  if (!number.empty() && number.size() <= kMaxDigits) {
    int64_t value = 0;
    size_t i = 0;
    for (; i < number.size() && number[i] >= '0' && number[i] <= '9'; ++i) value = value * 10 + (number[i] - '0');
    if (i == number.size() && value <= kLargestExact) return value;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size() || !std::isfinite(value)) return std::nullopt;
  return static_cast<int64_t>(value);
}

// The numeric top-level field "t" of the object that opens at `pos`, if it has one. Other fields
// are stepped over without being parsed.
std::optional<int64_t> push_time_of(std::string_view text, size_t pos) {
  if (pos >= text.size() || text[pos] != '{') return std::nullopt;
  ++pos;
  for (;;) {
    pos = skip_space(text, pos);
    if (pos >= text.size() || text[pos] != '"') return std::nullopt;
    size_t key_end = end_of_string(text, pos);
    if (key_end == kNone) return std::nullopt;
    std::string_view key = text.substr(pos, key_end - pos);
    pos = skip_space(text, key_end);
    if (pos >= text.size() || text[pos] != ':') return std::nullopt;
    pos = skip_space(text, pos + 1);
    size_t value_end = end_of_value(text, pos);
    if (value_end == kNone) return std::nullopt;
    if (key == "\"t\"") return parse_time(text.substr(pos, value_end - pos));
    pos = skip_space(text, value_end);
    if (pos >= text.size() || text[pos] != ',') return std::nullopt;
    ++pos;
  }
}

// Steps over `c` (and the space before it); false if something else comes.
bool consume(std::string_view text, size_t& pos, char c) {
  pos = skip_space(text, pos);
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

std::optional<MessageEvent> scan_message_event(std::string_view packet, std::string_view nsp) {
  if (packet.empty() || packet[0] != '2') return std::nullopt;
  size_t pos = 1;
  if (pos < packet.size() && packet[pos] == '/') {
    size_t comma = packet.find(',', pos);
    if (comma == std::string_view::npos || packet.substr(pos, comma - pos) != nsp) return std::nullopt;
    pos = comma + 1;
  } else if (nsp != "/") {
    return std::nullopt;
  }
  size_t digits = pos;
  while (digits < packet.size() && packet[digits] >= '0' && packet[digits] <= '9') ++digits;

  MessageEvent event;
  event.ack_id = packet.substr(pos, digits - pos);
  pos = digits;
  constexpr std::string_view kName = "\"message\"";
  if (!consume(packet, pos, '[')) return std::nullopt;
  pos = skip_space(packet, pos);
  if (packet.substr(pos, kName.size()) != kName) return std::nullopt;
  pos += kName.size();
  if (!consume(packet, pos, ',')) return std::nullopt;
  pos = skip_space(packet, pos);
  size_t id_end = end_of_value(packet, pos);
  if (id_end == kNone) return std::nullopt;
  event.msg_id = packet.substr(pos, id_end - pos);
  pos = id_end;
  if (consume(packet, pos, ',')) event.push_time_us = push_time_of(packet, skip_space(packet, pos));
  return event;
}

}  // namespace herald::bench
