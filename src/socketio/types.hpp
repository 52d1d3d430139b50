// Handler and callback types of the Socket.IO API.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engineio/close_reason.hpp"
#include "socketio/packet.hpp"

namespace herald::socketio {

class Socket;

// Answers a client's acknowledgement request. Empty (false) when the client asked for none.
// Only the first call sends anything; it must happen on the socket's loop.
class Ack {
 public:
  Ack() = default;
  Ack(std::weak_ptr<Socket> socket, uint64_t id) : socket_(std::move(socket)), id_(id) {}
  explicit operator bool() const { return id_.has_value(); }
  void operator()(Json args = Json::array());

 private:
  std::weak_ptr<Socket> socket_;
  std::optional<uint64_t> id_;
};

// args: the event's arguments (a JSON array; binary buffers as Json::binary).
using EventHandler = std::function<void(Socket& socket, Json& args, Ack& ack)>;
using ConnectionHandler = std::function<void(const std::shared_ptr<Socket>& socket)>;
// Why a socket disconnected; to_string(reason) is socket.io's text ("transport close", ...).
using DisconnectReason = engineio::CloseReason;
using DisconnectHandler = std::function<void(Socket& socket, DisconnectReason reason)>;
// Called once: with the client's ack arguments, or timed_out = true and an empty array.
using AckCallback = std::function<void(bool timed_out, Json& args)>;

// Takes the acknowledgements of one broadcast from the sockets of one loop. Shared by all of them,
// so a recipient costs an index, not a callback of its own.
class AckSink {
 public:
  virtual ~AckSink() = default;
  // On the socket's loop: the socket at `index` of the broadcast's recipients there acknowledged.
  virtual void acked(uint32_t index, Json& args) = 0;
  // On the socket's loop: the socket at `index` closed before acknowledging.
  virtual void dropped(uint32_t /*index*/) {}
};
// Runs before a connection is accepted; a returned object refuses it (sent as CONNECT_ERROR).
using Middleware = std::function<std::optional<Json>(Socket& socket)>;
// The same, answered later (e.g. by an authentication service): `next(std::nullopt)` accepts,
// `next(error)` refuses. Called on the socket's loop; `next` is called there, once, and keeps the
// socket alive until then (if the client is gone by then, nothing more happens).
using AsyncMiddleware = std::function<void(Socket& socket, std::function<void(std::optional<Json> error)> next)>;

}  // namespace herald::socketio
