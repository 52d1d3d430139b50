// What one worker process counts about its clients, and the form in which it reports that to
// the parent: a small "tick" every 200 ms and one "final" report with the latency histograms.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/histogram.hpp"

namespace herald::bench {

// Why a client lost (or never got) its connection.
enum class ErrorKind : uint8_t {
  Refused,      // TCP connection refused
  Connect,      // other TCP connect failures (no route, no local port, ...)
  Timeout,      // connecting or the handshake took too long
  Handshake,    // the WebSocket upgrade or polling handshake was answered with an error
  Closed,       // the server closed the connection
  PingTimeout,  // no Engine.IO ping within pingInterval + pingTimeout
  Rejected,     // Socket.IO CONNECT_ERROR or a server-side DISCONNECT
  Protocol,     // a packet the client could not make sense of
  Io,           // other read/write failures
};
constexpr size_t kErrorKinds = 9;
std::string_view error_kind_name(ErrorKind kind);
std::string_view error_kind_name(size_t index);

struct Counters {
  uint64_t created = 0;         // clients started
  uint64_t connected = 0;       // clients connected now (Socket.IO CONNECT answered)
  uint64_t ever_connected = 0;  // clients that connected at least once
  uint64_t disconnected = 0;    // connections lost
  uint64_t reconnected = 0;     // connections re-established after a loss
  uint64_t messages = 0;        // `message` events received
  uint64_t acks = 0;            // acks sent
  std::array<uint64_t, kErrorKinds> errors{};

  uint64_t error_total() const;
  void add(const Counters& other);
  nlohmann::json to_json() const;
  static Counters from_json(const nlohmann::json& json);
};

struct MessageStats {
  std::string display_id;  // the msgId as text (JSON strings unquoted)
  LatencyHistogram latency;
  uint64_t received = 0;
  int64_t first_receipt_us = 0;
  bool stamped = false;          // latency is push-to-receipt (the message carried `t`)
  bool changed = false;          // since the last tick
  std::string_view raw_id;       // the msgId's JSON text (the key it is filed under)
  MessageStats* next = nullptr;  // the message that followed this one for the client that first got both
};

class WorkerStats {
 public:
  Counters counters;
  uint64_t share = 0;  // clients this worker runs
  int64_t first_start_us = 0;
  int64_t last_first_connect_us = 0;  // when a client last connected for the first time
  uint64_t initial_failures = 0;      // clients whose first connection attempt failed
  LatencyHistogram connect_latency;   // first start to first Socket.IO connect, per client

  void record_first_connect(int64_t latency_us, int64_t now_us);
  // Counts one receipt. `msg_id` is the raw JSON text of the msgId; `previous` is the receiving
  // client's previous message, updated to this one. Clients get the same messages in the same
  // order, so what follows a client's previous message is usually found without a lookup.
  void record_message(std::string_view msg_id, std::optional<int64_t> push_time_us, int64_t now_us,
                      MessageStats*& previous);

  // {"type":"tick","counters":{...},"messages":{id: received,...}} with only changed messages.
  nlohmann::json take_tick();
  nlohmann::json final_report() const;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  MessageStats& find_or_add(std::string_view msg_id, MessageStats* previous);

  // Node-based: a message's stats stay where they are, so clients may point at them.
  std::unordered_map<std::string, MessageStats, StringHash, std::equal_to<>> messages_;
  std::vector<MessageStats*> changed_;
};

}  // namespace herald::bench
