// `herald-bench churn`: message delivery while every client's connection keeps dropping.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace herald::bench {

struct ChurnOptions {
  std::string url = "http://127.0.0.1:1994/";  // the server; the path names the namespace
  uint64_t clients = 200;
  unsigned workers = 1;
  double connect_rate = 500;  // new connections per second while the clients first connect
  double duration_s = 30;     // how long pushes are sent
  double rate = 2;            // pushes per second
  uint64_t offline_ms = 2000;
  uint64_t drop_every_ms = 15000;
  uint64_t drop_jitter_ms = 5000;
  uint64_t drain_ms = 5000;
  std::string push_url;  // base URL of the push API; empty: the server's
  std::string push_path = "/pushMsgToAll";
  bool ack = true;
  uint64_t ack_timeout_ms = 10000;
  uint64_t size = 100;  // message bytes
  std::string token;
  std::string uid_prefix = "u";
  std::string login = "emit";  // or auth
  std::string socketio_path = "/socket.io/";
  std::string output;
};

void add_churn_options(CLI::App& command, ChurnOptions& options);
// Runs the whole test (forks the workers, pushes, aggregates, reports). Returns the exit code.
int run_churn(const ChurnOptions& options);

}  // namespace herald::bench
