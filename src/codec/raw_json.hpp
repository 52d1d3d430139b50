// A JSON value Herald never reads (a pushed `message`), carried as the text the backend sent so
// clients get it byte for byte (key order, number text such as 1.50 or 1e3, escapes) and so no
// push pays a parse and a serialization per send.
//
// The text rides inside herald::Json as a binary value of a private subtype (kRawJsonSubtype):
// only raw_json() makes one, and no input can produce it (msgpack ext types give subtypes 0-255,
// JSON text gives no binary at all). nlohmann's serializers cannot be told to write a value
// verbatim, so the JSON writer here (write_json) is hand-written: it walks the few containers
// around raw values and hands every other subtree to nlohmann's dump. Whatever reads values or
// writes msgpack expands raw values first (expand_raw_json).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/json.hpp"

namespace herald::codec {

// Above any msgpack ext type (int8) and BSON subtype (uint8) nlohmann can read.
constexpr uint64_t kRawJsonSubtype = 0x7261775F6A736F6EULL;  // "raw_json"

// `text` as a raw value when it is one JSON value: valid UTF-8, no NUL byte, nested no deeper than
// kMaxJsonDepth, nothing after it. Whitespace around the value is dropped; inside it is kept.
// nullopt otherwise.
std::optional<Json> raw_json(std::string_view text);
// `text` as a raw value, unchecked: for text a full parse of what holds it has already validated
// (a member of an API body). Whitespace around the value is dropped.
Json raw_json_checked(std::string_view text);

bool is_raw_json(const Json& value);
// The text of a raw value (empty for any other value).
std::string_view raw_json_text(const Json& value);
// True when a raw value is `value` or inside it.
bool contains_raw_json(const Json& value);

// Appends `value` as compact JSON text: raw values verbatim, everything else as nlohmann's dump
// (invalid UTF-8 in strings replaced, as everywhere Herald writes JSON).
void write_json(const Json& value, std::string& out);
std::string to_json_text(const Json& value);
// Appends `text` as a JSON string: printable ASCII without quotes or backslashes as it is (user ids,
// most answers), anything else escaped by nlohmann (invalid UTF-8 replaced).
void write_json_string(std::string_view text, std::string& out);

// Replaces every raw value inside `value` with the value its text holds (for msgpack, and for
// code that reads the value).
void expand_raw_json(Json& value);
// A copy of `value` with its raw values expanded.
Json expanded(const Json& value);

// Where a value's text is inside the text of a validated container (an API body), so a member can be
// kept as written. The members of an object `{...}`: keys decoded, values as written, in order.
// The elements of an array `[...]`, as written. Empty for text that is not such a container.
std::vector<std::pair<std::string, std::string_view>> object_members(std::string_view text);
std::vector<std::string_view> array_elements(std::string_view text);

}  // namespace herald::codec
