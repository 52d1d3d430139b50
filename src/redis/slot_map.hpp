// Redis Cluster's key space: the hash slot of a key (CRC16 of the key, or of its {hash tag}),
// the key a command is routed by, and which master serves each of the 16384 slots (from
// CLUSTER SLOTS, corrected by MOVED redirections). Pure code; no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/connection.hpp"

namespace herald::redis {

constexpr uint16_t kSlots = 16384;

uint16_t key_slot(std::string_view key);

// The key that decides where a command runs: the first key (EVAL / EVALSHA: the first of KEYS;
// SPUBLISH, SSUBSCRIBE: the channel); nullopt for commands without one (PING, PUBLISH, PUBSUB,
// ...), which any master serves. `error` is set, and nullopt returned, when the keys of an EVAL
// lie in different slots (Redis would refuse them with CROSSSLOT).
std::optional<std::string_view> routing_key(const std::vector<std::string>& args, std::string& error);

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381": the slot and the address.
struct Redirect {
  bool ask = false;
  uint16_t slot = 0;
  std::string address;
};
std::optional<Redirect> parse_redirect(std::string_view error);

class SlotMap {
 public:
  // From a CLUSTER SLOTS reply; false (map unchanged) when it is not one or leaves slots uncovered.
  bool apply(const Reply& cluster_slots, std::string& error);
  void move(uint16_t slot, const std::string& address);
  bool known() const { return !masters_.empty(); }
  // host:port of the master serving `slot`; empty when unknown.
  const std::string& owner(uint16_t slot) const;
  const std::vector<std::string>& masters() const { return masters_; }

 private:
  std::vector<std::string> masters_;
  std::array<uint16_t, kSlots> owners_{};  // index into masters_
};

}  // namespace herald::redis
