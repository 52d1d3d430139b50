// Shared by the Engine.IO payload fuzzers: whether `b` holds exactly the first `count` packets
// of `a`.
#pragma once

#include <cstddef>
#include <vector>

#include "engineio/packet.hpp"

inline bool same_packets(const std::vector<herald::engineio::Packet>& a, const std::vector<herald::engineio::Packet>& b,
                         size_t count) {
  if (a.size() < count || b.size() != count) return false;
  for (size_t i = 0; i < count; ++i) {
    if (a[i].type != b[i].type || a[i].binary != b[i].binary || a[i].data != b[i].data) return false;
  }
  return true;
}
