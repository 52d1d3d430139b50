// What the Socket.IO library counts about its connections: sessions, bytes, refusals, clients by
// parser, recoveries. The library bumps these with relaxed atomics on every loop, without locks;
// the application decides where they go (`count_transport_into`) and reads them for its own
// metrics. The library knows nothing of how they are shown.
#pragma once

#include <atomic>
#include <cstdint>

namespace herald::net {

struct TransportCounters {
  using Counter = std::atomic<uint64_t>;
  // Engine.IO sessions: gauges kept as counters of opens minus closes.
  Counter polling_sessions{0};
  Counter websocket_sessions{0};
  Counter sessions_opened{0};
  Counter slow_clients_dropped{0};  // cut off for falling too far behind
  Counter bytes_in{0};
  Counter bytes_out{0};
  // Refusals at the door.
  Counter connections_refused{0};      // limits (per IP, handshake rate)
  Counter descriptor_refusals{0};      // requests refused on the last descriptors (kept for health checks)
  Counter tls_handshake_failures{0};   // TLS handshakes that failed or timed out
  Counter tls_plain_http_refused{0};   // plain HTTP sent to the TLS port
  Counter proxy_protocol_refusals{0};  // trusted proxies' connections without a valid PROXY header
  // Socket.IO clients.
  Counter rejected_client_packets{0};              // malformed or over a limit (too deep, too many items)
  Counter rejected_msgpack_packets{0};             // ... of which from msgpack-parser clients
  Counter default_clients{0}, msgpack_clients{0};  // by the parser they use
  // Connection state recovery.
  Counter recoveries{0};         // sockets that came back with their state
  Counter recovery_failures{0};  // clients that asked to and could not (unknown or expired pid, offset gone)
  Counter catch_ups{0};          // of those, sent what they missed once settled (another node's pid)
  Counter partial_catch_ups{0};  // ... of which some had left the log or never reached it
};

// Where the library counts from now on; set before the loops run. Until then (and in a program
// that never sets it) the library counts into counters of its own.
void count_transport_into(TransportCounters& counters);
// The counters the library bumps: from any thread.
TransportCounters& transport_counters();

}  // namespace herald::net
