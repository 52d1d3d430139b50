// The Engine.IO server: answers handshakes (v4, and v3 when allowed), routes each request to the
// loop owning its session, and refuses bad ones with the protocol's error codes. One session table
// per loop.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engineio/admission.hpp"
#include "engineio/config.hpp"
#include "engineio/packet.hpp"
#include "engineio/session.hpp"
#include "net/fixed_delay_timers.hpp"
#include "net/http.hpp"
#include "net/loop_pool.hpp"

namespace herald::engineio {

// Engine.IO's error codes, sent as {"code","message"} with HTTP 400.
enum class ErrorCode : uint8_t {
  UnknownTransport = 0,
  UnknownSid = 1,
  BadHandshakeMethod = 2,
  BadRequest = 3,
  Forbidden = 4,
  UnsupportedProtocolVersion = 5,
};

net::HttpResponse error_response(ErrorCode code);
// 502 with UnknownSid: the process that owns the session cannot be reached.
net::HttpResponse owner_unreachable_response();

// Packets every session sends, built once per thread.
struct CommonPackets {
  OutPacket ping, pong, noop, close, probe_answer;
};
const CommonPackets& common_packets();

class Server {
 public:
  using ConnectionHandler = std::function<void(const std::shared_ptr<Session>&)>;

  Server(net::LoopPool& pool, Config config, ConnectionHandler on_connection);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The HTTP route for config().path.
  void handle(const std::shared_ptr<net::HttpExchange>& exchange);
  // Closes every session on every loop with a close packet. Callable from any thread.
  void close_all(CloseReason reason);

  const Config& config() const { return config_; }
  net::LoopPool& pool() { return pool_; }
  // The heartbeat timers of the sessions on `loop`.
  net::FixedDelayTimers<Session>& timers(size_t loop) { return *timers_[loop]; }
  size_t session_count(size_t loop) const { return sessions_[loop].size(); }
  // Sessions on all loops; readable from any thread.
  size_t live_sessions() const { return live_sessions_.load(std::memory_order_relaxed); }

  // Requests for sessions of another process (the sid says which) go here; without a handler they
  // are refused as unknown. Set before the loops run.
  using ForeignSessionHandler = std::function<void(const std::shared_ptr<net::HttpExchange>&, uint32_t process)>;
  void on_foreign_session(ForeignSessionHandler handler) { foreign_session_ = std::move(handler); }

  // Adds CORS headers when the request's Origin is allowed.
  void add_cors_headers(const net::HttpRequest& request, net::HttpResponse& response) const;
  // A browser's WebSocket is not bound by CORS: its Origin is checked against the list, when there is one.
  bool origin_allowed(const net::HttpRequest& request) const;
  void remove(const Session& session);

 private:
  void handle_on_owner(const std::shared_ptr<net::HttpExchange>& exchange, const std::string& sid);
  void handshake(const std::shared_ptr<net::HttpExchange>& exchange, bool websocket);
  void reply_error(const std::shared_ptr<net::HttpExchange>& exchange, ErrorCode code, const net::Headers& extra = {});
  std::string open_packet(const std::string& sid, bool websocket, Protocol protocol) const;

  net::LoopPool& pool_;
  Config config_;
  ConnectionHandler on_connection_;
  ForeignSessionHandler foreign_session_;
  net::WebSocketLimits ws_limits_;
  // Keyed by a view of the session's own id: a copy of every id would cost a heap block each.
  std::vector<std::unordered_map<std::string_view, std::shared_ptr<Session>>> sessions_;
  std::vector<std::unique_ptr<net::FixedDelayTimers<Session>>> timers_;  // one per loop
  std::atomic<size_t> live_sessions_{0};
  Admission admission_;
};

}  // namespace herald::engineio
