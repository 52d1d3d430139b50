// Session ids that say where their session lives. With SO_REUSEPORT the requests of one
// long-polling client land on any loop (and later any worker or node); whoever receives one reads
// the owner from the id and hands the request over. 20 URL-safe characters: 15 bytes holding the
// owning process tag (4 bytes), the loop index (1 byte) and 10 random bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald::engineio {

struct SidRoute {
  uint32_t process = 0;
  uint8_t loop = 0;
};

std::string make_sid(SidRoute route);
std::optional<SidRoute> parse_sid(std::string_view sid);

// 20 URL-safe characters from 15 random bytes (Socket.IO socket ids, process tags).
std::string random_id();
uint32_t random_u32();

}  // namespace herald::engineio
