#include "redis/slot_map.hpp"

#include <algorithm>
#include <charconv>

namespace herald::redis {
namespace {

// CRC16-CCITT (XModem), as the Redis Cluster specification defines the key hash.
uint16_t crc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021) : crc << 1;
  }
  return crc;
}

bool equals_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x) == (y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y);
         });
}

std::string address_of(const Reply& node) {
  if (node.type != Reply::Type::Array || node.elements.size() < 2) return {};
  const std::string& host = node.elements[0].str;
  if (host.empty() || node.elements[1].type != Reply::Type::Integer) return {};
  return host + ":" + std::to_string(node.elements[1].integer);
}

}  // namespace

uint16_t key_slot(std::string_view key) {
  size_t open = key.find('{');
  if (open != std::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % kSlots;
}

std::optional<std::string_view> routing_key(const std::vector<std::string>& args, std::string& error) {
  if (args.size() < 2) return std::nullopt;
  const std::string& name = args[0];
  if (equals_nocase(name, "EVAL") || equals_nocase(name, "EVALSHA")) {
    if (args.size() < 4) return std::nullopt;
    size_t keys = 0;
    auto [end, ec] = std::from_chars(args[2].data(), args[2].data() + args[2].size(), keys);
    if (ec != std::errc() || keys == 0 || args.size() < 3 + keys) return std::nullopt;
    uint16_t slot = key_slot(args[3]);
    for (size_t i = 4; i < 3 + keys; ++i) {
      if (key_slot(args[i]) != slot) {
        error = "CROSSSLOT the keys of a script must share one hash slot (" + args[3] + ", " + args[i] + ")";
        return std::nullopt;
      }
    }
    return std::string_view(args[3]);
  }
  for (const char* keyless : {"PING", "PUBLISH", "PUBSUB", "ROLE", "CLUSTER", "INFO", "CLIENT", "ECHO", "TIME"})
    if (equals_nocase(name, keyless)) return std::nullopt;
  return std::string_view(args[1]);
}

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect redirect;
  if (error.starts_with("MOVED ")) {
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    redirect.ask = true;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  size_t space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto [end, ec] = std::from_chars(error.data(), error.data() + space, redirect.slot);
  if (ec != std::errc() || end != error.data() + space || redirect.slot >= kSlots) return std::nullopt;
  redirect.address = std::string(error.substr(space + 1));
  if (redirect.address.empty() || redirect.address.front() == ':') return std::nullopt;
  return redirect;
}

bool SlotMap::apply(const Reply& reply, std::string& error) {
  if (reply.type != Reply::Type::Array) {
    error = reply.is_error() ? reply.str : "CLUSTER SLOTS: an unexpected reply";
    return false;
  }
  std::vector<std::string> masters;
  std::array<uint16_t, kSlots> owners{};
  std::vector<bool> covered(kSlots, false);
  for (const Reply& range : reply.elements) {
    if (range.type != Reply::Type::Array || range.elements.size() < 3) continue;
    int64_t first = range.elements[0].integer;
    int64_t last = range.elements[1].integer;
    std::string master = address_of(range.elements[2]);
    if (master.empty() || first < 0 || last >= kSlots || first > last) continue;
    auto found = std::find(masters.begin(), masters.end(), master);
    auto index = static_cast<uint16_t>(found - masters.begin());
    if (found == masters.end()) masters.push_back(master);
    for (int64_t slot = first; slot <= last; ++slot) {
      owners[static_cast<size_t>(slot)] = index;
      covered[static_cast<size_t>(slot)] = true;
    }
  }
  size_t uncovered = static_cast<size_t>(std::count(covered.begin(), covered.end(), false));
  if (masters.empty() || uncovered > 0) {
    error = "CLUSTER SLOTS: " + std::to_string(uncovered) + " slots have no master";
    return false;
  }
  masters_ = std::move(masters);
  owners_ = owners;
  return true;
}

void SlotMap::move(uint16_t slot, const std::string& address) {
  auto found = std::find(masters_.begin(), masters_.end(), address);
  if (found == masters_.end()) {
    masters_.push_back(address);
    found = masters_.end() - 1;
  }
  owners_[slot] = static_cast<uint16_t>(found - masters_.begin());
}

const std::string& SlotMap::owner(uint16_t slot) const {
  static const std::string none;
  if (masters_.empty()) return none;
  return masters_[owners_[slot]];
}

}  // namespace herald::redis
