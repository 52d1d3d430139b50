// An API request's JSON body, read in one walk (codec::read_json_object: simdjson, with nlohmann
// for what simdjson refuses, so every body reads as it did): its tree becomes herald::Json, except
// the `message` members the API keeps as written (KeptMessages), whose text the same walk finds
// and which are wrapped as raw values without a second look.
#pragma once

#include <string_view>

#include "api/fields.hpp"

namespace herald::api {

// Made and moved without throwing (body_json.cpp asserts it); bugprone-exception-escape follows
// nlohmann's constructors into branches that cannot throw here.
struct BodyJson {  // NOLINT(bugprone-exception-escape)
  Json fields;     // the body's object, without the kept messages
  // KeptMessages::Top: the body's `message` as written (nullopt when absent).
  std::optional<Json> message;
  // KeptMessages::Entries: each entry of `pushes`' `message` as written.
  std::vector<std::optional<Json>> entry_messages;
};

// `body` must be one JSON object; throws BadRequest (invalid, too deep, not an object).
BodyJson read_body_json(std::string_view body, KeptMessages kept);

}  // namespace herald::api
