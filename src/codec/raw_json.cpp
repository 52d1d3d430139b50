#include "codec/raw_json.hpp"

#include "codec/json_reader.hpp"

#include <algorithm>
#include <vector>

#include "codec/json_depth.hpp"

namespace herald::codec {
namespace {

constexpr std::string_view kJsonWhitespace = " \t\n\r";

// nlohmann's serializer, appending to `out`; one per write, as making one (an allocation and a
// locale lookup) costs more than writing a short string.
using Serializer = nlohmann::detail::serializer<Json>;

Serializer serializer_for(std::string& out) {
  return {nlohmann::detail::output_adapter<char, std::string>(out), ' ', Json::error_handler_t::replace};
}

void write_with(const Json& value, Serializer& serializer, std::string& out) {
  if (is_raw_json(value)) {
    out += raw_json_text(value);
  } else if (!(value.is_array() || value.is_object()) || !contains_raw_json(value)) {
    serializer.dump(value, false, false, 0);
  } else if (value.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& item : value) {
      if (!first) out += ',';
      first = false;
      write_with(item, serializer, out);
    }
    out += ']';
  } else {
    out += '{';
    bool first = true;
    for (const auto& [key, item] : value.get_ref<const Json::object_t&>()) {
      if (!first) out += ',';
      first = false;
      serializer.dump(Json(key), false, false, 0);
      out += ':';
      write_with(item, serializer, out);
    }
    out += '}';
  }
}

// The bytes of `text`, copied as one block (from char iterators the copy goes byte by byte).
std::vector<uint8_t> bytes_of(std::string_view text) {
  const auto* first = reinterpret_cast<const uint8_t*>(text.data());
  return {first, first + text.size()};
}

size_t skip_whitespace(std::string_view text, size_t pos) {
  while (pos < text.size() && kJsonWhitespace.find(text[pos]) != std::string_view::npos) ++pos;
  return pos;
}

// The end of the string starting at `pos` (its opening quote); npos when it does not end.
size_t string_end(std::string_view text, size_t pos) {
  for (++pos; pos < text.size(); ++pos) {
    if (text[pos] == '\\')
      ++pos;
    else if (text[pos] == '"')
      return pos + 1;
  }
  return std::string_view::npos;
}

// The end of the value starting at `pos`; npos when it does not end.
size_t value_end(std::string_view text, size_t pos) {
  if (pos >= text.size()) return std::string_view::npos;
  if (text[pos] == '"') return string_end(text, pos);
  if (text[pos] == '{' || text[pos] == '[') {
    size_t depth = 0;
    while (pos < text.size()) {
      char c = text[pos];
      if (c == '"') {
        pos = string_end(text, pos);
        if (pos == std::string_view::npos) return pos;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if ((c == '}' || c == ']') && --depth == 0) return pos + 1;
      ++pos;
    }
    return std::string_view::npos;
  }
  while (pos < text.size() && text[pos] != ',' && text[pos] != '}' && text[pos] != ']' &&
         kJsonWhitespace.find(text[pos]) == std::string_view::npos)
    ++pos;
  return pos;
}

// The items of a container's text: `{"key": value, ...}` with keys, `[value, ...]` without.
template <class Add>
bool for_each_item(std::string_view text, char open, char close, Add add) {
  size_t pos = skip_whitespace(text, 0);
  if (pos >= text.size() || text[pos] != open) return false;
  pos = skip_whitespace(text, pos + 1);
  if (pos < text.size() && text[pos] == close) return true;
  while (pos < text.size()) {
    std::string_view key;
    if (open == '{') {
      size_t key_end = text[pos] == '"' ? string_end(text, pos) : std::string_view::npos;
      if (key_end == std::string_view::npos) return false;
      key = text.substr(pos, key_end - pos);
      pos = skip_whitespace(text, key_end);
      if (pos >= text.size() || text[pos] != ':') return false;
      pos = skip_whitespace(text, pos + 1);
    }
    size_t end = value_end(text, pos);
    if (end == std::string_view::npos || end == pos) return false;
    add(key, text.substr(pos, end - pos));
    pos = skip_whitespace(text, end);
    if (pos < text.size() && text[pos] == close) return true;
    if (pos >= text.size() || text[pos] != ',') return false;
    pos = skip_whitespace(text, pos + 1);
  }
  return false;
}

}  // namespace

std::vector<std::pair<std::string, std::string_view>> object_members(std::string_view text) {
  std::vector<std::pair<std::string, std::string_view>> members;
  bool whole = for_each_item(text, '{', '}', [&](std::string_view key, std::string_view value) {
    // Keys with escapes (rare) are decoded by the parser; the others are their text.
    std::string name(key.substr(1, key.size() - 2));
    if (name.find('\\') != std::string::npos) {
      Json decoded = Json::parse(key, nullptr, false);
      name = decoded.is_string() ? decoded.get<std::string>() : std::string();
    }
    members.emplace_back(std::move(name), value);
  });
  if (!whole) members.clear();
  return members;
}

std::vector<std::string_view> array_elements(std::string_view text) {
  std::vector<std::string_view> elements;
  bool whole =
      for_each_item(text, '[', ']', [&](std::string_view, std::string_view value) { elements.push_back(value); });
  if (!whole) elements.clear();
  return elements;
}

std::optional<Json> raw_json(std::string_view text) {
  size_t start = text.find_first_not_of(kJsonWhitespace);
  if (start == std::string_view::npos) return std::nullopt;
  text = text.substr(start, text.find_last_not_of(kJsonWhitespace) - start + 1);
  // nlohmann's lexer takes a NUL byte for the end of input: `1\0garbage` would be accepted, and the
  // bytes after the NUL written to clients. No valid JSON text holds a raw NUL (strings escape it).
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  if (!json_depth_within(text)) return std::nullopt;
  // Checks syntax and UTF-8 without building the value.
  if (!json_text_valid(text)) return std::nullopt;
  return Json::binary(bytes_of(text), kRawJsonSubtype);
}

Json raw_json_checked(std::string_view text) {
  size_t start = text.find_first_not_of(kJsonWhitespace);
  if (start == std::string_view::npos) return Json::binary({}, kRawJsonSubtype);
  text = text.substr(start, text.find_last_not_of(kJsonWhitespace) - start + 1);
  return Json::binary(bytes_of(text), kRawJsonSubtype);
}

bool is_raw_json(const Json& value) {
  if (!value.is_binary()) return false;
  const auto& bytes = value.get_binary();
  return bytes.has_subtype() && bytes.subtype() == kRawJsonSubtype;
}

std::string_view raw_json_text(const Json& value) {
  if (!is_raw_json(value)) return {};
  const auto& bytes = value.get_binary();
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool contains_raw_json(const Json& value) {
  if (value.is_binary()) return is_raw_json(value);
  if (value.is_array() || value.is_object()) {
    for (const auto& item : value)
      if (contains_raw_json(item)) return true;
  }
  return false;
}

void write_json(const Json& value, std::string& out) {
  Serializer serializer = serializer_for(out);
  write_with(value, serializer, out);
}

void write_json_string(std::string_view text, std::string& out) {
  bool plain =
      std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (!plain) return write_json(Json(std::string(text)), out);
  out += '"';
  out += text;
  out += '"';
}

std::string to_json_text(const Json& value) {
  std::string out;
  write_json(value, out);
  return out;
}

void expand_raw_json(Json& value) {
  if (is_raw_json(value)) {
    std::string_view text = raw_json_text(value);
    Json parsed = Json::parse(text.begin(), text.end(), nullptr, false);  // checked by raw_json()
    value = parsed.is_discarded() ? Json() : std::move(parsed);
  } else if (value.is_array() || value.is_object()) {
    for (auto& item : value) expand_raw_json(item);
  }
}

Json expanded(const Json& value) {
  Json copy = value;
  if (contains_raw_json(copy)) expand_raw_json(copy);
  return copy;
}

}  // namespace herald::codec
