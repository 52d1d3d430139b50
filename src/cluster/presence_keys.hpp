// What presence's two halves (see presence.hpp) share: its Redis keys, and how a command that
// failed is told (at debug level: presence is written again on the next heartbeat).
#pragma once

#include <spdlog/spdlog.h>

#include <string>

#include "redis/connection.hpp"

namespace herald::cluster::presence_keys {

inline constexpr const char* kNodes = "herald:nodes";
inline constexpr const char* kGoneNodes = "herald:nodes:gone";
inline std::string node(const std::string& node) { return "herald:node:" + node; }
inline std::string sockets(const std::string& node) { return "herald:node:" + node + ":sockets"; }
inline std::string user(const std::string& uid) { return "herald:user:" + uid; }
inline std::string latest(const std::string& uid) { return "user@" + uid; }

}  // namespace herald::cluster::presence_keys

namespace herald::cluster {

inline void log_failure(const redis::Reply& reply, const char* what) {
  if (reply.is_error()) spdlog::debug("presence: {} failed: {}", what, reply.str);
}

}  // namespace herald::cluster
