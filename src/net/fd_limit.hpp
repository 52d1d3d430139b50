// Open-file limit: each connection costs a descriptor, so raise the soft limit to the hard one.
#pragma once

#include <cstdint>

namespace herald::net {

struct FdLimit {
  uint64_t soft;
  uint64_t hard;
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the limits now in force.
FdLimit raise_fd_limit();

}  // namespace herald::net
