#include "api/fields.hpp"

#include <boost/beast/core/string.hpp>
#include <charconv>
#include <type_traits>

#include "api/body_json.hpp"
#include "codec/raw_json.hpp"

namespace herald::api {

static_assert(std::is_nothrow_move_constructible_v<Fields>);

namespace {

using boost::beast::iequals;  // ASCII, as HTTP's tokens (media types) and the words read here are

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return iequals(text.substr(0, prefix.size()), prefix);
}

// "<name><problem>": what is wrong with a field, for BadRequest.
std::string about(std::string_view name, std::string_view problem) {
  std::string text(name);
  text += problem;
  return text;
}

Json parse_form(std::string_view body) {
  Json fields = Json::object();
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    size_t eq = pair.find('=');
    std::string key = net::percent_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : net::percent_decode(pair.substr(eq + 1));
    if (!key.empty() && !fields.contains(key)) fields[key] = std::move(value);
    if (amp == std::string_view::npos) break;
    body.remove_prefix(amp + 1);
  }
  return fields;
}

constexpr std::string_view kMessage = "message";

// A kept message that is null or "" is missing, as such a value is; a null Json was taken.
bool is_blank_message(const Json& raw) {
  std::string_view text = codec::raw_json_text(raw);
  return raw.is_null() || text == "null" || text == "\"\"";
}

// The value named `name` when it is given (not absent, null or ""), else null. A kept message is
// its raw text. `FieldsJson` and `Message` are const to read, not for a value moved out.
template <class FieldsJson, class Message>
FieldsJson* given_value(FieldsJson& fields, Message& message, std::string_view name) {
  if (message && name == kMessage) return is_blank_message(*message) ? nullptr : &*message;
  auto found = fields.find(name);
  if (found == fields.end() || found->is_null() ||
      (found->is_string() && found->template get_ref<const std::string&>().empty()))
    return nullptr;
  return &*found;
}

// The value named `name`, or BadRequest when it is not given.
template <class FieldsJson, class Message>
FieldsJson& required_value(FieldsJson& fields, Message& message, std::string_view name) {
  FieldsJson* value = given_value(fields, message, name);
  if (!value) throw BadRequest(about(name, " is required"));
  return *value;
}

}  // namespace

const char* const kTooDeep = "body nests arrays and objects deeper than 64 levels";

Fields Fields::parse(const net::HttpRequest& request, KeptMessages kept) {
  Fields fields;
  std::string_view type = request.header("content-type");
  std::string_view body = request.body;
  bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (starts_with_ignoring_case(type, "application/json") || (type.empty() && !blank && (body.front() == '{'))) {
    if (blank) {
      fields.fields_ = Json::object();
      return fields;
    }
    BodyJson read = read_body_json(body, kept);
    fields.fields_ = std::move(read.fields);
    fields.message_ = std::move(read.message);
    fields.entry_messages_ = std::move(read.entry_messages);
  } else if (starts_with_ignoring_case(type, "application/x-www-form-urlencoded") || type.empty()) {
    fields.fields_ = parse_form(body);
    fields.from_form_ = true;
  } else {
    throw BadRequest("unsupported Content-Type '" + std::string(type) +
                     "': send application/json or application/x-www-form-urlencoded");
  }
  // Query parameters fill in what the body did not give (the seed accepted both).
  if (!request.query.empty()) {
    Json query = parse_form(request.query);
    for (auto& [key, value] : query.items())
      if (!fields.fields_.contains(key)) fields.fields_[key] = value;
  }
  return fields;
}

Fields Fields::of(Json object, std::optional<Json> message) {
  if (!object.is_object()) throw BadRequest("must be a JSON object");
  Fields fields;
  fields.fields_ = std::move(object);
  fields.message_ = std::move(message);
  return fields;
}

bool Fields::has(std::string_view name) const { return given_value(fields_, message_, name) != nullptr; }

std::string Fields::required_string(std::string_view name, size_t max_length) const {
  const Json& value = required_value(fields_, message_, name);
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_number_integer()) {
    text = value.dump();
  } else {
    throw BadRequest(about(name, " must be a string"));
  }
  if (text.size() > max_length)
    throw BadRequest(about(name, " is longer than " + std::to_string(max_length) + " bytes"));
  return text;
}

std::vector<std::string> Fields::list(std::string_view name, size_t max_items, size_t max_item_length,
                                      bool required) const {
  std::vector<std::string> items;
  auto add = [&](std::string item) {
    size_t start = item.find_first_not_of(" \t");
    size_t end = item.find_last_not_of(" \t");
    if (start == std::string::npos) return;
    item = item.substr(start, end - start + 1);
    if (item.size() > max_item_length)
      throw BadRequest(about(name, ": an item is longer than " + std::to_string(max_item_length) + " bytes"));
    if (items.size() >= max_items)
      throw BadRequest(about(name, " has more than " + std::to_string(max_items) + " items"));
    items.push_back(std::move(item));
  };
  auto found = fields_.find(name);
  if (found != fields_.end() && !found->is_null()) {
    if (found->is_string()) {
      std::string_view text = found->get_ref<const std::string&>();
      while (true) {
        size_t comma = text.find(',');
        add(std::string(text.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
      }
    } else if (found->is_array()) {
      for (const auto& item : *found) {
        if (item.is_string())
          add(item.get<std::string>());
        else if (item.is_number_integer())
          add(item.dump());
        else
          throw BadRequest(about(name, " must be a list of strings"));
      }
    } else if (found->is_number_integer()) {
      add(found->dump());
    } else {
      throw BadRequest(about(name, " must be a comma-separated string or an array of strings"));
    }
  }
  if (required && items.empty()) throw BadRequest(about(name, " is required"));
  return items;
}

bool Fields::boolean(std::string_view name, bool fallback) const {
  auto found = fields_.find(name);
  if (found == fields_.end() || found->is_null()) return fallback;
  if (found->is_boolean()) return found->get<bool>();
  if (found->is_number_integer()) {
    auto n = found->get<int64_t>();
    if (n == 0 || n == 1) return n == 1;
  }
  if (found->is_string()) {
    const auto& text = found->get_ref<const std::string&>();
    if (text.empty()) return fallback;
    if (iequals(text, "true") || text == "1") return true;
    if (iequals(text, "false") || text == "0") return false;
  }
  throw BadRequest(about(name, " must be true, false, 1 or 0"));
}

int64_t Fields::integer(std::string_view name, int64_t fallback, int64_t min, int64_t max) const {
  auto found = fields_.find(name);
  if (found == fields_.end() || found->is_null()) return fallback;
  int64_t value = 0;
  if (found->is_number_integer()) {
    value = found->get<int64_t>();
  } else if (found->is_string()) {
    const auto& text = found->get_ref<const std::string&>();
    if (text.empty()) return fallback;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) throw BadRequest(about(name, " must be a whole number"));
  } else {
    throw BadRequest(about(name, " must be a whole number"));
  }
  if (value < min || value > max)
    throw BadRequest(about(name, " must be between " + std::to_string(min) + " and " + std::to_string(max)));
  return value;
}

Json Fields::value(std::string_view name) const { return required_value(fields_, message_, name); }

Json Fields::take(std::string_view name) { return std::move(required_value(fields_, message_, name)); }

}  // namespace herald::api
