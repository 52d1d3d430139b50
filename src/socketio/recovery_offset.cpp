#include "socketio/recovery_offset.hpp"

#include <charconv>

namespace herald::socketio {
namespace {

constexpr size_t kMaxStamps = 256;  // far above any cluster; bounds what a client can make us read

bool origin_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == kLocalOnlyMark;
}

}  // namespace

bool is_origin_id(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (char c : text)
    if (!origin_char(c)) return false;
  return true;
}

std::optional<RecoveryOffset> RecoveryOffset::parse(std::string_view text) {
  RecoveryOffset offset;
  while (!text.empty()) {
    size_t end = text.find('.');
    std::string_view item = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (end != std::string_view::npos && text.empty()) return std::nullopt;  // a trailing '.'
    size_t tilde = item.find('~');
    if (tilde == 0 || tilde == std::string_view::npos) return std::nullopt;
    std::string_view origin = item.substr(0, tilde);
    std::string_view number = item.substr(tilde + 1);
    if (!is_origin_id(origin)) return std::nullopt;
    uint64_t seq = 0;
    auto [stop, ec] = std::from_chars(number.data(), number.data() + number.size(), seq);
    if (number.empty() || ec != std::errc() || stop != number.data() + number.size()) return std::nullopt;
    if (offset.stamps_.size() == kMaxStamps || offset.seq_of(origin)) return std::nullopt;
    offset.stamps_.push_back(Stamp{std::string(origin), seq});
  }
  if (offset.stamps_.empty()) return std::nullopt;
  return offset;
}

std::optional<uint64_t> RecoveryOffset::seq_of(std::string_view origin) const {
  for (const auto& stamp : stamps_)
    if (stamp.origin == origin) return stamp.seq;
  return std::nullopt;
}

void append_offset_stamp(std::string& text, std::string_view origin, uint64_t seq) {
  if (!text.empty()) text += '.';
  text += origin;
  text += '~';
  text += std::to_string(seq);
}

}  // namespace herald::socketio
