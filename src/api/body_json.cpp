#include "api/body_json.hpp"

#include <simdjson.h>

#include <type_traits>

#include "codec/json_depth.hpp"
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

Json to_json(simdjson::dom::element element, int depth, int skip_messages_at) {
  using Type = simdjson::dom::element_type;
  switch (element.type()) {
    case Type::OBJECT: {
      Json object = Json::object();
      for (simdjson::dom::key_value_pair field : simdjson::dom::object(element)) {
        if (depth + 1 == skip_messages_at && field.key == kKeptMember) continue;
        object[std::string(field.key)] = to_json(field.value, depth + 1, skip_messages_at);
      }
      return object;
    }
    case Type::ARRAY: {
      Json array = Json::array();
      for (simdjson::dom::element item : simdjson::dom::array(element))
        array.push_back(to_json(item, depth + 1, skip_messages_at));
      return array;
    }
    case Type::STRING:
      return std::string(std::string_view(element));
    case Type::INT64:
      return int64_t(element);
    case Type::UINT64:
      return uint64_t(element);
    case Type::DOUBLE:
      return double(element);
    case Type::BOOL:
      return bool(element);
    case Type::NULL_VALUE:
      break;
  }
  return nullptr;
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

// Per thread: the parser's buffers and a copy of the body with the padding simdjson reads past
// its end, both grown to the largest body seen and reused.
struct Reader {
  simdjson::dom::parser parser;
  std::string padded;
};

}  // namespace

BodyJson read_body_json(std::string_view body, KeptMessages kept) {
  if (!codec::json_depth_within(body)) throw BadRequest(kTooDeep);
  thread_local Reader reader;
  reader.padded.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  reader.padded.assign(body);
  simdjson::dom::element root;
  if (reader.parser.parse(reader.padded.data(), reader.padded.size(), false).get(root) != simdjson::SUCCESS)
    return read_with_nlohmann(body, kept);
  if (!root.is_object()) throw BadRequest("body must be a JSON object");
  BodyJson read;
  read.fields = to_json(root, 0, kept_depth(kept));
  keep_messages(body, kept, false, read);
  return read;
}

}  // namespace herald::api
