// The fields of an API request, from a JSON object body or a form (application/x-www-form-urlencoded),
// with typed getters that fail with a message naming the field: the API's answer to bad input.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "codec/json.hpp"

#include "net/http.hpp"

namespace herald::api {

using Json = herald::Json;

// What is wrong with a request, in words for the caller.
class BadRequest : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The answer to JSON nested deeper than codec::kMaxJsonDepth.
extern const char* const kTooDeep;

// Which `message` members of a JSON body are kept as the text the backend wrote (raw JSON, see
// codec/raw_json.hpp), never parsed into values: Herald passes them on without reading them.
enum class KeptMessages : uint8_t {
  None,
  Top,      // the body's own `message` (/api/v1/push, the seed's pushes)
  Entries,  // the `message` of each entry of `pushes` (/api/v1/push/batch)
};

// Moved without throwing (fields.cpp asserts it); bugprone-exception-escape follows nlohmann's
// constructors into branches that cannot throw here.
class Fields {  // NOLINT(bugprone-exception-escape)
 public:
  // Parses the body by its Content-Type (JSON, form, or none); throws BadRequest.
  static Fields parse(const net::HttpRequest& request, KeptMessages kept = KeptMessages::None);
  // The fields of a JSON object inside a body (an entry of a batch); throws BadRequest otherwise.
  // `message`: the entry's message as written, when kept.
  static Fields of(Json object, std::optional<Json> message = std::nullopt);
  // The kept message of each entry of `pushes` (nullopt where there is none).
  const std::vector<std::optional<Json>>& entry_messages() const { return entry_messages_; }

  bool has(std::string_view name) const;
  // A non-empty string (numbers are accepted and given as text). Longer than max_length fails.
  std::string required_string(std::string_view name, size_t max_length) const;
  // A list: a JSON array of strings, or a comma-separated string. Empty items are dropped.
  std::vector<std::string> list(std::string_view name, size_t max_items, size_t max_item_length, bool required) const;
  // true/false/1/0 (also "true"/"false"/"1"/"0"); `fallback` when absent.
  bool boolean(std::string_view name, bool fallback) const;
  int64_t integer(std::string_view name, int64_t fallback, int64_t min, int64_t max) const;
  // Any JSON value (a form gives its text); required. A kept `message` is its raw text.
  Json value(std::string_view name) const;
  // value(), moved out rather than copied: for a value read once (a push's message).
  Json take(std::string_view name);
  const Json& raw() const { return fields_; }

 private:
  Json fields_;  // an object once parse() or of() made it (not before: it would be made twice)
  bool from_form_ = false;
  std::optional<Json> message_;  // the body's `message` as written (KeptMessages::Top)
  std::vector<std::optional<Json>> entry_messages_;
};

}  // namespace herald::api
