// What `churn` counts: the counters a worker reports every 200 ms, and the per-client results
// (deliveries, worst latency) it reports once at the end, merged over the workers by the parent.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/histogram.hpp"
#include "connect/stats.hpp"

namespace herald::bench {

struct ChurnCounters {
  uint64_t clients = 0;                                 // clients started
  uint64_t connected = 0;                               // connected now (Socket.IO CONNECT answered)
  uint64_t offline = 0;                                 // were connected, lost it and are not connected again yet
  uint64_t ever_connected = 0;                          // clients that connected at least once
  uint64_t drops = 0;                                   // connections reset on purpose
  uint64_t reconnects = 0;                              // connections after a client's first
  uint64_t recovered = 0;                               // reconnects the server recovered (same pid)
  uint64_t deliveries = 0;                              // this run's `message` events received, duplicates included
  uint64_t distinct = 0;                                // of those, the first receipt of a msgId by a client
  uint64_t duplicates = 0;                              // a msgId a client had already received
  uint64_t foreign = 0;                                 // `message` events with a msgId that is not this run's
  uint64_t acks = 0;                                    // ack answers sent
  std::array<uint64_t, kErrorKinds> lost{};             // connections lost other than by a drop, by why
  std::array<uint64_t, kErrorKinds> failed_attempts{};  // connection attempts that failed, by why

  uint64_t lost_total() const;
  uint64_t failed_attempts_total() const;
  void add(const ChurnCounters& other);
  nlohmann::json to_json() const;
  static ChurnCounters from_json(const nlohmann::json& json);
};

// One client's delivery record.
struct ClientOutcome {
  std::string uid;
  uint64_t distinct = 0;
  int64_t worst_latency_us = -1;  // -1: nothing received
};

// Per-client results of one worker, or of all of them once merged.
struct ChurnOutcome {
  LatencyHistogram latency;        // every first receipt of a msgId by a client
  LatencyHistogram worst_latency;  // each client's worst first receipt
  ClientOutcome fewest;            // the client that received the fewest pushes
  ClientOutcome slowest;           // the client with the worst latency
  uint64_t clients = 0;
  // Some (client, push sequence) pairs that never arrived, to look them up in the server's logs.
  static constexpr size_t kMissedShown = 20;
  std::vector<std::pair<std::string, uint64_t>> missed;

  void add_client(const ClientOutcome& client);
  void add_missed(const std::string& uid, uint64_t sequence);
  void merge(const ChurnOutcome& other);
  nlohmann::json to_json() const;
  static ChurnOutcome from_json(const nlohmann::json& json);
};

}  // namespace herald::bench
