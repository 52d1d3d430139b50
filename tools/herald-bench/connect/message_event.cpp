#include "connect/message_event.hpp"

#include <charconv>
#include <cmath>

namespace herald::bench {
namespace {

// A cursor over JSON text that can step over whole values.
class JsonCursor {
 public:
  explicit JsonCursor(std::string_view text) : text_(text) {}

  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  char peek() {
    skip_space();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }

  // Steps over one value and returns its raw text; empty if malformed.
  std::string_view value() {
    skip_space();
    size_t start = pos_;
    if (pos_ >= text_.size()) return {};
    char first = text_[pos_];
    if (first == '"') {
      if (!skip_string()) return {};
    } else if (first == '{' || first == '[') {
      if (!skip_container()) return {};
    } else {
      while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != ']' && text_[pos_] != '}' &&
             text_[pos_] != ' ')
        ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

 private:
  bool skip_string() {
    for (++pos_; pos_ < text_.size(); ++pos_) {
      if (text_[pos_] == '\\') {
        ++pos_;
      } else if (text_[pos_] == '"') {
        ++pos_;
        return true;
      }
    }
    return false;
  }
  bool skip_container() {
    size_t depth = 0;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '"') {
        if (!skip_string()) return false;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if ((c == '}' || c == ']') && --depth == 0) {
        ++pos_;
        return true;
      }
      ++pos_;
    }
    return false;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// The numeric top-level field "t" of a JSON object, if there is one.
std::optional<int64_t> push_time_of(std::string_view object) {
  JsonCursor cursor(object);
  if (!cursor.consume('{')) return std::nullopt;
  if (cursor.consume('}')) return std::nullopt;
  do {
    std::string_view key = cursor.value();
    if (key.empty() || !cursor.consume(':')) return std::nullopt;
    std::string_view value = cursor.value();
    if (value.empty()) return std::nullopt;
    if (key == "\"t\"") {
      double number = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(number)) return std::nullopt;
      return static_cast<int64_t>(number);
    }
  } while (cursor.consume(','));
  return std::nullopt;
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
  JsonCursor args(packet.substr(digits));
  if (!args.consume('[') || args.value() != "\"message\"" || !args.consume(',')) return std::nullopt;
  event.msg_id = args.value();
  if (event.msg_id.empty()) return std::nullopt;
  if (args.consume(',') && args.peek() == '{') event.push_time_us = push_time_of(args.value());
  return event;
}

}  // namespace herald::bench
