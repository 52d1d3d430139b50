// Engine.IO server settings (names as in the Node engine.io server where one exists).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace herald::engineio {

struct Config {
  std::string path = "/engine.io/";
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds ping_timeout{20000};
  std::chrono::milliseconds upgrade_timeout{10000};
  size_t max_payload = 1'000'000;  // largest message or polling body a client may send
  bool allow_polling = true;
  bool allow_websocket = true;
  bool allow_upgrades = true;
  // Also accept Engine.IO v3 clients (socket.io-client 2.x), as engine.io's allowEIO3.
  bool allow_eio3 = false;
  // Origins allowed by CORS; "*" allows any. Empty: no CORS headers at all.
  std::vector<std::string> cors_origins;
  // A client whose unsent data passes this is disconnected as too slow.
  size_t max_buffered_bytes = 4'000'000;
  // Keep the handshake's HTTP headers for the layers above (costs memory per connection).
  bool keep_handshake_headers = true;
  // Per client address: open sessions and new sessions per second (0: no limit).
  size_t max_sessions_per_ip = 0;
  double handshakes_per_ip_per_second = 0;
  // Identifies this process in session ids; 0 is fine for a single process.
  uint32_t process_tag = 0;
};

}  // namespace herald::engineio
