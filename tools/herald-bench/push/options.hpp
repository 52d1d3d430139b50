// `herald-bench push`: pushes messages through the HTTP push API at a steady rate and measures
// the answers (the seed's message.js).
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace herald::bench {

struct PushOptions {
  std::string path = "http://127.0.0.1:1994";
  std::string endpoint = "all";  // all, room, single, batch
  std::string rooms;             // comma-separated, for room
  std::string users;             // a count N (uid-prefix + 0..N-1) or a comma-separated list
  std::string uid_prefix = "u";
  std::string pick = "roundrobin";  // or random
  uint64_t batch_size = 10;
  double rate = -1;        // pushes per second; 0: as fast as --concurrency allows; <0: unset
  double interval_ms = 0;  // between pushes; 0: unset
  uint64_t size = 100;     // message bytes
  bool ack = true;
  uint64_t timeout_ms = 10000;
  double duration_s = -1;  // <0: unset (10 s unless --count is given)
  uint64_t count = 0;      // total pushes; 0: no limit
  uint64_t concurrency = 64;
  uint64_t max_errors = 5;  // consecutive failures before giving up
  std::string token;
  std::string output;
  // Set by `churn`, which files what clients receive by msgId: the path of the `all` endpoint
  // instead of /pushMsgToAll, and the msgId prefix instead of one made from the clock.
  std::string api_path;
  std::string msg_id_prefix;
};

void add_push_options(CLI::App& command, PushOptions& options);
// Runs the pushes and prints the report. Returns the exit code.
int run_push(const PushOptions& options);

}  // namespace herald::bench
