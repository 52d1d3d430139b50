// The walk behind codec/json_object_reader.hpp: simdjson On Demand values into herald::Json, kept
// members set apart as written.
#include "codec/json_object_reader.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "codec/json_depth.hpp"

namespace herald::codec {

static_assert(std::is_nothrow_default_constructible_v<JsonObject> && std::is_nothrow_move_constructible_v<JsonObject>);

namespace {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

// A number as nlohmann types it: without a sign, unsigned (codec::read_json does the same). Read
// by type with the typed getters, as simdjson 3.0.1's get_number() gives 0.0 for a double of more
// than 19 digits (its slow path writes to a copy of the result). A double's value is then taken
// from its text by std::from_chars: get_double() checks the form right but gives a wrong value for
// some long ones (0.0555... of 111 digits: 4e-90), where the DOM parser is right.
error_code read_number(ondemand::value value, Json* out) {
  ondemand::number_type type{};
  if (auto error = value.get_number_type().get(type)) return error;
  if (type == ondemand::number_type::signed_integer) {
    int64_t number = 0;
    if (auto error = value.get_int64().get(number)) return error;
    if (out) *out = number >= 0 ? Json(static_cast<uint64_t>(number)) : Json(number);
  } else if (type == ondemand::number_type::unsigned_integer) {
    uint64_t number = 0;
    if (auto error = value.get_uint64().get(number)) return error;
    if (out) *out = number;
  } else if (type == ondemand::number_type::floating_point_number) {
    std::string_view text = value.raw_json_token();  // the number and the whitespace after it
    double number = 0;
    if (auto error = value.get_double().get(number)) return error;
    text = text.substr(0, text.find_first_of(" \t\n\r"));
    auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (problem != std::errc() || end != text.data() + text.size()) return simdjson::NUMBER_ERROR;
    if (out) *out = number;
  } else {
    return simdjson::NUMBER_ERROR;  // a type later versions add (big integers): nlohmann reads those
  }
  return SUCCESS;
}

// A member (or element, without a key) read and waiting for its container to be made. Containers
// are made once their members are all read, at their size: growing one member by member would
// copy every member at each growth, as nlohmann's objects hold std::pair<const std::string, Json>,
// which a vector cannot move. Keys point into the parser's buffer, valid for the whole document.
struct Pending {  // NOLINT(bugprone-exception-escape): as JsonObject's (json_object_reader.hpp)
  std::string_view key;
  Json value;
};

// An object's member and its key, unescaped.
error_code field_and_key(simdjson::simdjson_result<ondemand::field> member, ondemand::field& field,
                         std::string_view& key) {
  if (auto error = std::move(member).get(field)) return error;
  return field.unescaped_key().get(key);
}

// One document's walk. Every value is read, into the tree or (`out` null) only to check it.
class Walk {
 public:
  Walk(std::vector<Pending>& pending, KeptMembers kept) : pending_(pending), kept_(kept) {}

  error_code read_top(ondemand::object object, JsonObject& read) {
    size_t first = pending_.size();
    for (auto member : object) {
      ondemand::field field;
      std::string_view key;
      if (auto error = field_and_key(std::move(member), field, key)) return error;
      if (kept_.in_array.empty() && !kept_.name.empty() && key == kept_.name) {
        if (auto error = read_kept(field.value(), 1, read.kept)) return error;
        continue;
      }
      Json value;
      bool entries = !kept_.in_array.empty() && !kept_.name.empty() && key == kept_.in_array;
      if (auto error = entries ? read_entries(field.value(), value, read) : read_value(field.value(), 1, &value))
        return error;
      pending_.push_back({key, std::move(value)});
    }
    make_object(first, read.object);
    return SUCCESS;
  }

 private:
  // `value`, inside `depth` arrays and objects.
  error_code read_value(ondemand::value value, size_t depth, Json* out) {
    ondemand::json_type type{};
    if (auto error = value.type().get(type)) return error;
    switch (type) {
      case ondemand::json_type::object: {
        if (depth + 1 > kMaxJsonDepth) return simdjson::DEPTH_ERROR;
        ondemand::object object;
        if (auto error = value.get_object().get(object)) return error;
        return read_object(object, depth + 1, out);
      }
      case ondemand::json_type::array: {
        if (depth + 1 > kMaxJsonDepth) return simdjson::DEPTH_ERROR;
        ondemand::array array;
        if (auto error = value.get_array().get(array)) return error;
        return read_array(array, depth + 1, out);
      }
      case ondemand::json_type::number:
        return read_number(value, out);
      case ondemand::json_type::string: {
        std::string_view text;
        if (auto error = value.get_string().get(text)) return error;
        if (out) *out = text;
        return SUCCESS;
      }
      case ondemand::json_type::boolean: {
        bool flag = false;
        if (auto error = value.get_bool().get(flag)) return error;
        if (out) *out = flag;
        return SUCCESS;
      }
      case ondemand::json_type::null: {
        bool null = false;
        if (auto error = value.is_null().get(null)) return error;
        if (!null) return simdjson::INCORRECT_TYPE;  // an atom starting with 'n' that is not null
        if (out) *out = nullptr;
        return SUCCESS;
      }
    }
    return simdjson::INCORRECT_TYPE;
  }

  // The members of `object` (nested `depth` deep). Members named `kept_name` go to `kept_text`
  // instead, when it is given.
  error_code read_object(ondemand::object object, size_t depth, Json* out,
                         std::optional<std::string_view>* kept_text = nullptr) {
    size_t first = pending_.size();
    for (auto member : object) {
      ondemand::field field;
      std::string_view key;
      if (auto error = field_and_key(std::move(member), field, key)) return error;
      if (kept_text && key == kept_.name) {
        if (auto error = read_kept(field.value(), depth, *kept_text)) return error;
        continue;
      }
      Json value;
      if (auto error = read_value(field.value(), depth, out ? &value : nullptr)) return error;
      if (out) pending_.push_back({key, std::move(value)});
    }
    if (out) make_object(first, *out);
    return SUCCESS;
  }

  error_code read_array(ondemand::array array, size_t depth, Json* out) {
    size_t first = pending_.size();
    for (auto element : array) {
      ondemand::value item;
      if (auto error = element.get(item)) return error;
      Json value;
      if (auto error = read_value(item, depth, out ? &value : nullptr)) return error;
      if (out) pending_.push_back({{}, std::move(value)});
    }
    if (out) make_array(first, *out);
    return SUCCESS;
  }

  // `value`'s text as written (without the whitespace after it), checked as value() checks.
  error_code read_kept(ondemand::value value, size_t depth, std::optional<std::string_view>& text) {
    // A scalar's token is all of it; a container's, its first character.
    std::string_view written = value.raw_json_token();
    ondemand::json_type type{};
    if (auto error = value.type().get(type)) return error;
    if (auto error = read_value(value, depth, nullptr)) return error;
    if (type == ondemand::json_type::object || type == ondemand::json_type::array) {
      const char* end = nullptr;  // read whole, the document is at the token after it
      if (auto error = value.current_location().get(end)) return error;
      written = std::string_view(written.data(), static_cast<size_t>(end - written.data()));
    }
    text = written.substr(0, written.find_last_not_of(" \t\n\r") + 1);
    return SUCCESS;
  }

  // The top object's array member `in_array`: its objects' kept members set apart.
  error_code read_entries(ondemand::value value, Json& out, JsonObject& read) {
    constexpr size_t kEntryDepth = 3;  // the top object, the array, the entry
    read.kept_in_array.clear();        // the last of duplicates is the one read
    ondemand::json_type type{};
    if (auto error = value.type().get(type)) return error;
    if (type != ondemand::json_type::array) return read_value(value, 1, &out);
    ondemand::array array;
    if (auto error = value.get_array().get(array)) return error;
    size_t first = pending_.size();
    for (auto element : array) {
      ondemand::value entry;
      if (auto error = element.get(entry)) return error;
      auto& kept_text = read.kept_in_array.emplace_back();
      Json slot;
      if (auto error = entry.type().get(type)) return error;
      if (type == ondemand::json_type::object) {
        ondemand::object object;
        if (auto error = entry.get_object().get(object)) return error;
        if (auto error = read_object(object, kEntryDepth, &slot, &kept_text)) return error;
      } else if (auto error = read_value(entry, kEntryDepth - 1, &slot)) {
        return error;
      }
      pending_.push_back({{}, std::move(slot)});
    }
    make_array(first, out);
    return SUCCESS;
  }

  // The pending members from `first` on become `out`'s; the last of duplicate keys replaces the
  // first one's value, at its place.
  void make_object(size_t first, Json& out) {
    out = Json::object();
    auto& members = out.get_ref<Json::object_t&>();
    members.reserve(pending_.size() - first);
    for (size_t i = first; i < pending_.size(); ++i) {
      auto [found, added] = members.emplace(pending_[i].key, std::move(pending_[i].value));
      if (!added) found->second = std::move(pending_[i].value);
    }
    pending_.resize(first);
  }

  void make_array(size_t first, Json& out) {
    out = Json::array();
    auto& items = out.get_ref<Json::array_t&>();
    items.reserve(pending_.size() - first);
    for (size_t i = first; i < pending_.size(); ++i) items.push_back(std::move(pending_[i].value));
    pending_.resize(first);
  }

  std::vector<Pending>& pending_;
  KeptMembers kept_;
};

// Per thread: the parser's buffers, a copy of the text with the padding simdjson reads past its
// end, and the walk's pending values, all grown to the largest document seen and reused.
struct OnDemandReader {
  ondemand::parser parser;
  std::string padded;
  std::vector<Pending> pending;
};

}  // namespace

std::optional<JsonObject> read_json_object(std::string_view text, KeptMembers kept) {
  thread_local OnDemandReader reader;
  reader.padded.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  reader.padded.assign(text);
  reader.pending.clear();  // what a refused document left
  ondemand::document document;
  if (reader.parser.iterate(reader.padded.data(), reader.padded.size(), reader.padded.capacity()).get(document))
    return std::nullopt;
  ondemand::object top;
  if (document.get_object().get(top)) return std::nullopt;
  JsonObject read;
  if (Walk(reader.pending, kept).read_top(top, read)) return std::nullopt;
  // Nothing may follow the object: at the end, the document has no current location.
  if (document.current_location().error() != simdjson::OUT_OF_BOUNDS) return std::nullopt;
  // The kept texts point into the copy: the same places in `text`.
  auto in_text = [&](std::optional<std::string_view>& found) {
    if (found) found = text.substr(static_cast<size_t>(found->data() - reader.padded.data()), found->size());
  };
  in_text(read.kept);
  for (auto& found : read.kept_in_array) in_text(found);
  return read;
}

}  // namespace herald::codec
