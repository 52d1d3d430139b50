// A JSON object read in one walk with simdjson's On Demand API: its tree as herald::Json, except
// the members the caller keeps as written (the API's pushed `message`, see codec/raw_json.hpp),
// whose text comes out of the same walk. The API's bodies read through it (api/body_json.cpp):
// before, they took a pass to check nesting, a DOM parse, a copy of the DOM into herald::Json and
// a second scan of the text to find the kept members, allocating for every member found.
//
// The walk reads every value (kept members too: their scalars are parsed, not skipped), so it
// takes only what simdjson's DOM parser takes, and reads it as codec::read_json does: numbers as
// nlohmann types them (`-0` an integer, non-negative integers unsigned), the last of duplicate keys
// at the first one's place, keys in the order written. It answers nullopt for everything else
// (invalid text, a top value that is not an object, nesting deeper than kMaxJsonDepth, what
// simdjson refuses such as integers beyond 64 bits): the caller then asks nlohmann, whose verdict
// and words stay the reference.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "codec/json.hpp"

namespace herald::codec {

// Which members are kept as written instead of read into the tree.
struct KeptMembers {
  std::string_view name;  // empty: none
  // Empty: the top object's members so named. Otherwise the members so named of each object in the
  // top object's array member `in_array` (the entries of a batch).
  std::string_view in_array;
};

// Texts point into the text read, as written, without the whitespace around them. Made and moved
// without throwing (json_object_reader.cpp asserts it); bugprone-exception-escape follows nlohmann's
// constructors into branches that cannot throw here.
struct JsonObject {  // NOLINT(bugprone-exception-escape)
  Json object;       // without the kept members
  // The top object's kept member (the last of duplicates); nullopt when absent.
  std::optional<std::string_view> kept;
  // Per element of the array `in_array` (the last of duplicates), its kept member; nullopt where
  // there is none or the element is not an object. Empty when `in_array` is absent or no array.
  std::vector<std::optional<std::string_view>> kept_in_array;
};

std::optional<JsonObject> read_json_object(std::string_view text, KeptMembers kept);

}  // namespace herald::codec
