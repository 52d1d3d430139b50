#include "codec/json_reader.hpp"

#include <simdjson.h>

#include <cstdint>
#include <string>

namespace herald::codec {
namespace {

Json to_json(simdjson::dom::element element) {
  using Type = simdjson::dom::element_type;
  switch (element.type()) {
    case Type::OBJECT: {
      Json object = Json::object();
      for (simdjson::dom::key_value_pair field : simdjson::dom::object(element)) {
        object[std::string(field.key)] = to_json(field.value);
      }
      return object;
    }
    case Type::ARRAY: {
      Json array = Json::array();
      for (simdjson::dom::element item : simdjson::dom::array(element)) array.push_back(to_json(item));
      return array;
    }
    case Type::STRING:
      return std::string(std::string_view(element));
    case Type::INT64: {
      // nlohmann types a number without a sign as unsigned: the same here.
      auto value = int64_t(element);
      if (value >= 0) return static_cast<uint64_t>(value);
      return value;
    }
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

// Per thread: the parser's buffers and a copy of the text with the padding simdjson reads past
// its end, both grown to the largest text seen and reused.
struct Reader {
  simdjson::dom::parser parser;
  std::string padded;

  bool parse(std::string_view text, simdjson::dom::element& root) {
    padded.reserve(text.size() + simdjson::SIMDJSON_PADDING);
    padded.assign(text);
    return parser.parse(padded.data(), padded.size(), false).get(root) == simdjson::SUCCESS;
  }
};

Reader& thread_reader() {
  thread_local Reader reader;
  return reader;
}

}  // namespace

std::optional<Json> read_json(std::string_view text) {
  simdjson::dom::element root;
  if (!thread_reader().parse(text, root)) return std::nullopt;
  return to_json(root);
}

bool json_text_valid(std::string_view text) {
  simdjson::dom::element root;
  return thread_reader().parse(text, root) || Json::accept(text);
}

}  // namespace herald::codec
