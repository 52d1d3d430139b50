// The cluster's shared copy of the recovery logs. Every node logs every node's broadcasts as they
// arrive (socketio/recovery_offset.hpp), but a node that starts later, or whose Redis connection
// was down, never saw some of them, and a client that comes back there could not be caught up with
// those. So each node also appends its own replayable broadcasts (the adapter message, with its
// stamp) to a Redis stream per namespace, trimmed to the recovery window (XADD MINID), and reads the
// window back each time it connects to Redis (Recovery::prepend_history).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "socketio/recovery_offset.hpp"

namespace herald::cluster {

class Cluster;

class RecoveryStream {
 public:
  // `key`: the stream's key; `window`: how long entries are kept.
  RecoveryStream(Cluster& cluster, std::string key, std::chrono::milliseconds window);

  // Redis loop. Appends one adapter message; a failure (Redis away) only leaves a gap others see.
  void append(std::string message);
  // Redis loop. Reads the window: `done` gets each message with the time it was appended, oldest
  // first (nothing when Redis fails to answer).
  using Message = std::pair<std::string, std::chrono::system_clock::time_point>;
  void read_window(std::function<void(std::vector<Message>& messages)> done);

  static constexpr size_t kMaxRead = 100'000;  // entries read back at most

 private:
  std::string oldest_id() const;  // the stream id the window starts at

  Cluster& cluster_;
  std::string key_;
  std::chrono::milliseconds window_;
};

// The recovery stamp Herald adds to an adapter broadcast message ([uid, packet, opts, {o, s}]);
// nothing when it has none (Node servers and emitters) or it is malformed.
template <class Json>
std::optional<socketio::Stamp> stamp_of(const Json& message) {
  if (!message.is_array() || message.size() < 4 || !message[3].is_object()) return std::nullopt;
  const Json& given = message[3];
  auto origin = given.find("o");
  auto seq = given.find("s");
  if (origin == given.end() || !origin->is_string() || seq == given.end() || !seq->is_number_unsigned())
    return std::nullopt;
  const auto& id = origin->template get_ref<const std::string&>();
  uint64_t number = seq->template get<uint64_t>();
  if (!socketio::is_origin_id(id) || number == 0) return std::nullopt;
  return socketio::Stamp{id, number};
}

}  // namespace herald::cluster
