#include "cluster/recovery_stream.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

#include "cluster/cluster.hpp"

namespace herald::cluster {
namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The milliseconds part of a stream entry id ("<ms>-<n>").
std::optional<int64_t> id_ms(std::string_view id) {
  int64_t ms = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), ms);
  if (ec != std::errc() || end == id.data()) return std::nullopt;
  return ms;
}

}  // namespace

RecoveryStream::RecoveryStream(Cluster& cluster, std::string key, std::chrono::milliseconds window)
    : cluster_(cluster), key_(std::move(key)), window_(window) {}

std::string RecoveryStream::oldest_id() const { return std::to_string(wall_ms() - window_.count()); }

void RecoveryStream::append(std::string message) {
  // MINID ~ trims whole radix-tree nodes, so a few older entries may stay: reading skips them.
  cluster_.command({"XADD", key_, "MINID", "~", oldest_id(), "*", "m", std::move(message)},
                   [key = key_](const redis::Reply& reply) {
                     if (reply.is_error()) spdlog::debug("cluster: XADD {} failed: {}", key, reply.str);
                   });
}

void RecoveryStream::read_window(std::function<void(std::vector<Message>& messages)> done) {
  cluster_.command({"XRANGE", key_, oldest_id(), "+", "COUNT", std::to_string(kMaxRead)},
                   [key = key_, done = std::move(done)](const redis::Reply& reply) {
                     std::vector<Message> messages;
                     if (reply.is_error())
                       spdlog::warn("cluster: reading the recovery stream {} failed: {}", key, reply.str);
                     for (const auto& entry : reply.elements) {
                       // [id, [field, value, ...]]
                       if (entry.elements.size() != 2 || entry.elements[1].elements.size() < 2) continue;
                       auto ms = id_ms(entry.elements[0].str);
                       if (!ms) continue;
                       messages.emplace_back(entry.elements[1].elements[1].str,
                                             std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms)));
                     }
                     done(messages);
                   });
}

}  // namespace herald::cluster
