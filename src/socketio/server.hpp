// The Socket.IO server: namespaces over an Engine.IO server, in the spirit of socket.io's API:
//   server.of("/chat").on_connection([](auto& socket) { socket->on("msg", ...); });
//   server.of("/").to("room").emit("news", args);
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engineio/server.hpp"
#include "net/http.hpp"
#include "net/loop_pool.hpp"
#include "socketio/encoding.hpp"
#include "socketio/namespace.hpp"
#include "socketio/observer.hpp"
#include "socketio/recovery.hpp"
#include "socketio/socket.hpp"

namespace herald::socketio {

struct Config {
  engineio::Config engine = [] {
    engineio::Config defaults;
    defaults.path = "/socket.io/";
    return defaults;
  }();
  std::chrono::milliseconds connect_timeout{45000};
  // Which Socket.IO parser clients use: told per connection by its first message (Auto), or one
  // for all (socket.io-client 2.x with socket.io-msgpack-parser needs Msgpack: see Client).
  ParserMode parser = ParserMode::Auto;
  RecoveryConfig recovery;  // connection state recovery; off unless a window is set
};

class Server {
 public:
  Server(net::LoopPool& pool, Config config);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The namespace, created on first use. Create namespaces before the loops run.
  Namespace& of(const std::string& name);
  Namespace* find(std::string_view name);
  // Every namespace, in name order.
  std::vector<Namespace*> namespaces();
  // Adds the Engine.IO route to `router`.
  void attach(net::HttpRouter& router);
  // Closes every connection with a close packet (clients will reconnect elsewhere).
  void close();

  const Config& config() const { return config_; }
  net::LoopPool& pool() { return pool_; }
  engineio::Server& engine() { return engine_; }
  uint64_t next_ack_id() { return ack_ids_.fetch_add(1, std::memory_order_relaxed); }

  // One watcher of every namespace (socketio/observer.hpp), set before the loops run.
  void set_observer(ServerObserver* observer);
  ServerObserver* observer() const { return observer_; }
  // `loop`'s traffic counters while there is a watcher; null without one.
  LoopTraffic* traffic(size_t loop) { return traffic_ ? &traffic_[loop] : nullptr; }

 private:
  net::LoopPool& pool_;
  Config config_;
  engineio::Server engine_;
  std::mutex namespaces_mutex_;
  std::map<std::string, std::unique_ptr<Namespace>, std::less<>> namespaces_;
  std::atomic<uint64_t> ack_ids_{0};
  ServerObserver* observer_ = nullptr;
  std::unique_ptr<LoopTraffic[]> traffic_;
};

}  // namespace herald::socketio
