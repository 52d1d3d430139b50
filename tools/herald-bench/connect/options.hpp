// `herald-bench connect`: many Socket.IO clients that log in and ack every message (the seed's client.js).
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace herald::bench {

struct ConnectOptions {
  std::string path = "ws://127.0.0.1:1994/";
  uint64_t amount = 1000;
  double concurrency = 100;  // new connections per second, all workers together
  unsigned workers = 1;
  uint64_t receive_timeout_ms = 10000;
  double duration_s = 0;  // 0: until a signal or --messages
  uint64_t messages = 0;  // stop once this many distinct messages were received
  uint64_t expect = 0;    // receivers expected per message; 0: every connected client
  std::string transport = "websocket";
  std::string uid_prefix = "u";
  std::string source_ips;
  std::string socketio_path = "/socket.io/";
  std::string output;
  bool quiet = false;
  // At exit, drop every connection as a network failure would (no Socket.IO disconnect): the
  // server keeps each session for its recovery window.
  bool drop_on_exit = false;
};

// The Socket.IO namespace named by a URL path: "/" and "" give "/", "/chat/" gives "/chat".
std::string namespace_from_path(const std::string& path);

void add_connect_options(CLI::App& command, ConnectOptions& options);
// Runs the whole test (forks the workers, aggregates, reports). Returns the exit code.
int run_connect(const ConnectOptions& options);

}  // namespace herald::bench
