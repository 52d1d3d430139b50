// The API's body reader (codec/json_object_reader.hpp) against the readers it replaced: whatever it
// takes, simdjson's DOM reader (codec::read_json) and nlohmann take too; its tree is the DOM
// reader's (same values, same number types) without the kept members; and each kept member's text
// is the one a scan of the text's members finds (codec::object_members), as written.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "codec/json_depth.hpp"
#include "codec/json_object_reader.hpp"
#include "codec/json_reader.hpp"
#include "codec/raw_json.hpp"

namespace {

using herald::Json;
namespace codec = herald::codec;

constexpr std::string_view kName = "message";
constexpr std::string_view kArray = "pushes";

// Same types and values all the way down (Json's == takes 1 and 1.0, or -0.0 and 0.0, as equal).
bool same(const Json& a, const Json& b) {
  if (a.type() != b.type() || a.size() != b.size()) return false;
  if (a.is_object()) {
    auto it = b.begin();
    for (const auto& [key, value] : a.items()) {
      if (key != it.key() || !same(value, it.value())) return false;
      ++it;
    }
    return true;
  }
  if (a.is_array()) {
    for (size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  }
  return a.dump() == b.dump();
}

// The last member named `name` of the object `text`, as written.
std::optional<std::string_view> member_text(std::string_view text, std::string_view name) {
  std::optional<std::string_view> found;
  for (const auto& [key, value] : codec::object_members(text))
    if (key == name) found = value;
  return found;
}

void check(std::string_view input, const Json& dom, codec::KeptMembers kept) {
  auto read = codec::read_json_object(input, kept);
  if (!read) return;  // nlohmann decides
  Json expected = dom;
  if (kept.in_array.empty()) {
    if (!kept.name.empty()) expected.erase(kept.name);
    if (read->kept != (kept.name.empty() ? std::nullopt : member_text(input, kept.name))) __builtin_trap();
    if (!read->kept_in_array.empty()) __builtin_trap();
  } else {
    auto entries = expected.find(kept.in_array);
    auto elements = codec::array_elements(member_text(input, kept.in_array).value_or(std::string_view()));
    if (read->kept_in_array.size() != elements.size() || read->kept) __builtin_trap();
    if (entries != expected.end() && entries->is_array()) {
      if (entries->size() != elements.size()) __builtin_trap();
      for (size_t i = 0; i < elements.size(); ++i) {
        if ((*entries)[i].is_object()) (*entries)[i].erase(kept.name);
        if (read->kept_in_array[i] != member_text(elements[i], kept.name)) __builtin_trap();
      }
    }
  }
  if (!same(read->object, expected)) __builtin_trap();
  // The texts are views of the input.
  auto inside = [&](const std::optional<std::string_view>& text) {
    if (text && (text->data() < input.data() || text->data() + text->size() > input.data() + input.size()))
      __builtin_trap();
  };
  inside(read->kept);
  for (const auto& text : read->kept_in_array) inside(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::optional<Json> dom;
  if (codec::json_depth_within(input)) dom = codec::read_json(input);
  bool taken_by_dom = dom && dom->is_object() && !Json::parse(input, nullptr, false).is_discarded();
  for (codec::KeptMembers kept :
       {codec::KeptMembers{}, codec::KeptMembers{kName, {}}, codec::KeptMembers{kName, kArray}}) {
    if (!taken_by_dom) {
      if (codec::read_json_object(input, kept)) __builtin_trap();  // takes only what the DOM reader takes
      continue;
    }
    check(input, *dom, kept);
  }
  return 0;
}
