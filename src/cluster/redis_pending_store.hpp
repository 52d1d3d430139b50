// Kept acked pushes in Redis, so that a user who comes back on any node, or after the node that
// held the push died, gets them. Keys (a user's keys share one hash slot; `{u}` is the user id with
// `{`, `}` and `%` escaped):
//   herald:pending:{u}        sorted set msgId -> acceptance time (µs): the delivery order
//   herald:pending:{u}:body   hash msgId -> JSON {e: event, m: message, x: expiry (ms)}
//   herald:pending:{u}:acked  sorted set msgId -> ack time (ms): acked messages are never kept
//                             again (remembered 10 minutes)
//   herald:msg:{msgId}        hash uid -> "<state> <at ms> <expiry ms>", for GET /api/v1/messages
// A user's keys expire with its longest-lived message; at most `per_user` messages per user (the
// oldest go first). While Redis is unreachable, kept messages wait in this process, bounded as the
// in-memory store is, and are written when it returns; then every node is told to deliver them
// to those users' sockets: by a message, and in herald:redeliver (a list of JSON arrays of user
// ids, kept a minute) for nodes whose own connection to Redis comes back later.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cluster/cluster.hpp"
#include "push/pending_store.hpp"

namespace herald::cluster {

class RedisPendingStore : public push::PendingStore {
 public:
  // Before cluster.start(): it listens for Redis coming back.
  RedisPendingStore(Cluster& cluster, push::PendingLimits limits);

  // Redis loop: `redeliver(uids, every_node)` sends users their pending messages, here or on every
  // node: called for the messages written after an outage.
  using Redeliver = std::function<void(std::vector<std::string>, bool)>;
  void on_redeliver(Redeliver redeliver) { redeliver_ = std::move(redeliver); }

  void keep(const std::string& uid, const push::PendingMessage& message, std::function<void()> done) override;
  void pending_of(const std::string& uid, std::function<void(Messages)> done) override;
  void acked(const std::string& uid, const std::string& msg_id, std::function<void(bool)> done) override;
  void states(const std::string& msg_id, std::function<void(States)> done) override;

 private:
  // Redis loop. `done(false)` when Redis did not take it.
  void write(const std::string& uid, const push::PendingMessage& message, std::function<void(bool)> done);
  void mark(const std::string& msg_id, const std::string& uid, const char* state, int64_t at_ms, int64_t keep_until_ms);
  void hold(const std::string& uid, const push::PendingMessage& message);
  // Redis loop, on every (re)connection: delivers what other nodes wrote after the outage, then
  // writes what waited in this process.
  void reconnected();
  void flush();

  Cluster& cluster_;
  push::PendingLimits limits_;
  push::PendingMessages buffer_;  // kept while Redis was unreachable
  Redeliver redeliver_;
};

}  // namespace herald::cluster
