#include "api/body_json.hpp"

#include <type_traits>
#include <utility>

#include "codec/json_depth.hpp"
#include "codec/json_object_reader.hpp"
#include "codec/raw_json.hpp"

namespace herald::api {

static_assert(std::is_nothrow_default_constructible_v<BodyJson> && std::is_nothrow_move_constructible_v<BodyJson>);

namespace {

constexpr std::string_view kKeptMember = "message";  // the members kept as written
constexpr std::string_view kEntries = "pushes";      // the array of a batch's entries

codec::KeptMembers kept_members(KeptMessages kept) {
  switch (kept) {
    case KeptMessages::Top:
      return {kKeptMember, {}};
    case KeptMessages::Entries:
      return {kKeptMember, kEntries};
    case KeptMessages::None:
      break;
  }
  return {};
}

// The last member named `name` (the parsers keep the last of duplicates too).
std::optional<std::string_view> member_text(std::string_view object, std::string_view name) {
  std::optional<std::string_view> found;
  for (const auto& [key, value] : codec::object_members(object))
    if (key == name) found = value;
  return found;
}

std::optional<Json> checked_raw_json(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  auto raw = codec::raw_json(*text);
  if (!raw) throw BadRequest("message is not a valid JSON value");
  return raw;
}

// What simdjson does not take goes through nlohmann, which decides: the body reads as it always
// did. The kept messages are found in the text by a scan of its members, and taken out of the tree.
BodyJson read_with_nlohmann(std::string_view body, KeptMessages kept) {
  if (!codec::json_depth_within(body)) throw BadRequest(kTooDeep);
  Json parsed = Json::parse(body, nullptr, false);
  if (parsed.is_discarded()) throw BadRequest("body is not valid JSON");
  if (!parsed.is_object()) throw BadRequest("body must be a JSON object");
  BodyJson read;
  if (kept == KeptMessages::Top) {
    read.message = checked_raw_json(member_text(body, kKeptMember));
    parsed.erase(kKeptMember);
  } else if (kept == KeptMessages::Entries) {
    auto pushes = member_text(body, kEntries);
    for (auto entry : codec::array_elements(pushes.value_or(std::string_view())))
      read.entry_messages.push_back(checked_raw_json(member_text(entry, kKeptMember)));
    auto entries = parsed.find(kEntries);
    if (entries != parsed.end() && entries->is_array()) {
      for (auto& entry : *entries)
        if (entry.is_object()) entry.erase(kKeptMember);
    }
  }
  read.fields = std::move(parsed);
  return read;
}

}  // namespace

BodyJson read_body_json(std::string_view body, KeptMessages kept) {
  auto read = codec::read_json_object(body, kept_members(kept));
  if (!read) return read_with_nlohmann(body, kept);
  BodyJson body_json;
  body_json.fields = std::move(read->object);
  if (read->kept) body_json.message = codec::raw_json_checked(*read->kept);
  body_json.entry_messages.reserve(read->kept_in_array.size());
  for (const auto& text : read->kept_in_array)
    body_json.entry_messages.push_back(text ? std::optional(codec::raw_json_checked(*text)) : std::nullopt);
  return body_json;
}

}  // namespace herald::api
