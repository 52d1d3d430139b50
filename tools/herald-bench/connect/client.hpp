// One simulated user: an Engine.IO + Socket.IO client that connects to the namespace, emits
// `login(uid)`, acks every `message(msgId, message)`, answers pings, and reconnects with backoff
// when its connection drops. Transports (WebSocket, long-polling) derive from it and only move
// Engine.IO text packets.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/clock.hpp"
#include "connect/message_event.hpp"
#include "connect/stats.hpp"

namespace herald::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// What every client of one worker shares.
struct ClientContext {
  asio::io_context& io;
  WorkerStats& stats;
  tcp::endpoint server;
  std::string host_header;    // "host:port"
  std::string socketio_path;  // "/socket.io/"
  std::string nsp;            // "/" or "/chat"
  std::string uid_prefix;
  std::vector<asio::ip::address> local_addresses;  // round robin by client index; empty: any
  std::minstd_rand random;                         // reconnection jitter
  std::string scratch;                             // for building packets that send_packet copies at once (one thread)
  int64_t received_us = 0;  // when the bytes being handled were read: transports set it once per read

  // "" for the main namespace, else "/chat," (what packets carry before their payload).
  std::string nsp_prefix() const { return nsp == "/" ? std::string() : nsp + ","; }
};

class Client {
 public:
  Client(ClientContext& context, uint64_t index);
  virtual ~Client() = default;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts the first connection.
  void start();
  // Leaves the namespace (the Socket.IO disconnect socket.disconnect() sends), so that the server
  // ends the session instead of keeping it for recovery as after a network drop; nothing that
  // happens after it is counted.
  void leave();

 protected:
  // Begins a new Engine.IO session; the transport calls on_packet for every packet it receives,
  // after setting context_.received_us.
  virtual void open_transport() = 0;
  // Sends one Engine.IO text packet (type digit + data); the transport copies what it keeps.
  virtual void send_packet(std::string_view packet) = 0;
  // Drops the connection without further callbacks mattering (they are stale by generation).
  virtual void close_transport() = 0;

  void on_packet(std::string_view packet);
  void on_failure(ErrorKind kind);
  // Transports tag their handlers with the generation they started under and ignore them
  // when the connection they belong to has since failed or been replaced.
  uint64_t generation() const { return generation_; }
  bool is_current(uint64_t generation) const { return generation == generation_; }

  const asio::ip::address& local_address() const { return local_address_; }
  const std::string& engine_sid() const { return engine_sid_; }
  // How long a long-poll may stay unanswered: the server answers at least every pingInterval.
  std::chrono::milliseconds poll_timeout() const { return ping_deadline_ + std::chrono::seconds(5); }

  ClientContext& context_;

 private:
  enum class State { Idle, Connecting, Opening, Connected, Waiting };

  void connect();
  void on_open(std::string_view json);
  void on_socketio(std::string_view packet);
  void on_decoded(std::string_view packet);
  void on_connected();
  void on_message(const MessageEvent& event);
  void arm_deadline(std::chrono::milliseconds after);
  void schedule_reconnect();

  uint64_t index_;
  std::string uid_;
  asio::ip::address local_address_;
  State state_ = State::Idle;
  uint64_t generation_ = 0;
  bool ever_connected_ = false;
  unsigned failed_attempts_ = 0;  // since the last successful connect
  SteadyClock::time_point first_start_;
  std::string engine_sid_;
  std::chrono::milliseconds ping_deadline_{35000};
  MessageStats* last_message_ = nullptr;  // the last message received, to find the next one fast
  asio::steady_timer timer_;              // the connect/heartbeat deadline while connected, the backoff while waiting
};

}  // namespace herald::bench
