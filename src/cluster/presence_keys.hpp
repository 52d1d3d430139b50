// The Redis keys of presence (see presence.hpp), shared by its two halves.
#pragma once

#include <string>

namespace herald::cluster::presence_keys {

inline constexpr const char* kNodes = "herald:nodes";
inline constexpr const char* kGoneNodes = "herald:nodes:gone";
inline std::string node(const std::string& node) { return "herald:node:" + node; }
inline std::string sockets(const std::string& node) { return "herald:node:" + node + ":sockets"; }
inline std::string user(const std::string& uid) { return "herald:user:" + uid; }
inline std::string latest(const std::string& uid) { return "user@" + uid; }

}  // namespace herald::cluster::presence_keys
