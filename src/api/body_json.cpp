#include "api/body_json.hpp"

#include <type_traits>
#include <utility>

#include "codec/json_depth.hpp"
#include "codec/json_reader.hpp"
#include "codec/raw_json.hpp"

namespace herald::api {

static_assert(std::is_nothrow_default_constructible_v<BodyJson> && std::is_nothrow_move_constructible_v<BodyJson>);

namespace {

constexpr std::string_view kKeptMember = "message";  // the members kept as written

// Where kept messages are: the body's own members (Top) or the members of the objects in `pushes`.
int kept_depth(KeptMessages kept) {
  switch (kept) {
    case KeptMessages::Top:
      return 1;
    case KeptMessages::Entries:
      return 3;
    case KeptMessages::None:
      break;
  }
  return 0;
}

// The last member named `name` (the parsers keep the last of duplicates too).
std::optional<std::string_view> member_text(std::string_view object, std::string_view name) {
  std::optional<std::string_view> found;
  for (const auto& [key, value] : codec::object_members(object))
    if (key == name) found = value;
  return found;
}

// The kept messages' text, out of a body already parsed; `check` validates each (when the parse
// that came before did not cover them).
void keep_messages(std::string_view body, KeptMessages kept, bool check, BodyJson& read) {
  auto wrap = [check](std::string_view text) -> std::optional<Json> {
    if (!check) return codec::raw_json_checked(text);
    auto raw = codec::raw_json(text);
    if (!raw) throw BadRequest("message is not a valid JSON value");
    return raw;
  };
  if (kept == KeptMessages::Top) {
    if (auto text = member_text(body, kKeptMember)) read.message = wrap(*text);
  } else if (kept == KeptMessages::Entries) {
    auto pushes = member_text(body, "pushes");
    if (!pushes) return;
    for (auto entry : codec::array_elements(*pushes)) {
      auto text = member_text(entry, kKeptMember);
      read.entry_messages.push_back(text ? wrap(*text) : std::nullopt);
    }
  }
}

// What simdjson does not take goes through nlohmann, which decides: the body reads as it always did.
BodyJson read_with_nlohmann(std::string_view body, KeptMessages kept) {
  int depth = kept_depth(kept);
  Json parsed = Json::parse(
      body,
      [depth](int at, Json::parse_event_t event, Json& key) {
        return event != Json::parse_event_t::key || at != depth || key.get_ref<const std::string&>() != kKeptMember;
      },
      false);
  if (parsed.is_discarded()) throw BadRequest("body is not valid JSON");
  if (!parsed.is_object()) throw BadRequest("body must be a JSON object");
  BodyJson read;
  read.fields = std::move(parsed);
  keep_messages(body, kept, true, read);
  return read;
}

}  // namespace

BodyJson read_body_json(std::string_view body, KeptMessages kept) {
  if (!codec::json_depth_within(body)) throw BadRequest(kTooDeep);
  auto parsed = codec::read_json(body, {kept_depth(kept), kKeptMember});
  if (!parsed) return read_with_nlohmann(body, kept);
  if (!parsed->is_object()) throw BadRequest("body must be a JSON object");
  BodyJson read;
  read.fields = std::move(*parsed);
  keep_messages(body, kept, false, read);
  return read;
}

}  // namespace herald::api
