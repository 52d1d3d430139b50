// A lean server-side WebSocket (RFC 6455) on a bare Asio TCP socket. While idle it holds no read
// buffer and no coroutine frame: it waits for readability, then reads into a per-thread buffer.
// Outgoing messages are shared immutable buffers; what queues during one loop turn goes out in
// one gather write. No extensions (permessage-deflate is refused by not being offered).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace herald::net {

namespace asio = boost::asio;
class WebSocket;

struct WebSocketLimits {
  size_t max_message = 1'000'000;       // bigger messages close the connection with 1009
  size_t max_queued_bytes = 4'000'000;  // a client that lets more pile up is cut off
};

class WebSocketHandler {
 public:
  virtual void on_ws_message(WebSocket& ws, std::string_view data, bool binary) = 0;
  // The peer closed, the connection failed, or the write queue overflowed. Not called for a close()
  // the handler asked for.
  virtual void on_ws_closed(WebSocket& ws) = 0;
  virtual ~WebSocketHandler() = default;
};

class WebSocket : public std::enable_shared_from_this<WebSocket> {
 public:
  using Bytes = std::shared_ptr<const std::string>;

  WebSocket(asio::ip::tcp::socket socket, const WebSocketLimits& limits);
  ~WebSocket();
  WebSocket(const WebSocket&) = delete;
  WebSocket& operator=(const WebSocket&) = delete;

  // Writes the HTTP 101 response, then treats `already_read` as the first bytes from the client.
  void start(std::string handshake_response, std::string already_read);
  // The handler must outlive the WebSocket or detach itself with set_handler(nullptr).
  void set_handler(WebSocketHandler* handler) { handler_ = handler; }

  // Queues one message. False when closed or when the queue bound is passed (then it is closed).
  bool send(const Bytes& bytes, bool binary);
  // Sends a close frame, then closes the TCP connection once the peer answers (or after a grace).
  void close(uint16_t code = 1000);
  bool is_open() const { return state_ == State::Open; }
  size_t queued_bytes() const { return queued_bytes_; }
  // Messages dropped or refused because the client was too slow.
  bool overflowed() const { return overflowed_; }

 private:
  enum class State : uint8_t { Open, Closing, Closed };
  enum Opcode : uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10, kRaw = 0xff };
  struct Outgoing {
    Bytes bytes;
    uint8_t opcode;
  };

  void wait_readable();
  void on_readable();
  // Parses frames from `data` (unmasking in place); keeps an incomplete tail. False once closed.
  bool consume(char* data, size_t size);
  // Handles one complete frame. False once closed.
  bool on_frame(uint8_t opcode, bool fin, char* payload, size_t size);
  bool deliver(std::string_view message, bool binary);
  void enqueue(Bytes bytes, uint8_t opcode);
  void write_queued();
  void protocol_error(uint16_t code);
  void shutdown_socket();
  void notify_closed();

  asio::ip::tcp::socket socket_;
  WebSocketHandler* handler_ = nullptr;
  WebSocketLimits limits_;
  State state_ = State::Open;
  bool writing_ = false;
  bool overflowed_ = false;
  bool in_message_ = false;  // a fragmented message is being assembled
  bool message_binary_ = false;
  bool peer_closed_ = false;
  std::string partial_;  // an incomplete frame, only while one is arriving
  std::string message_;  // a fragmented message, only while one is arriving
  std::vector<Outgoing> queue_;
  std::vector<Outgoing> inflight_;
  std::string headers_;
  std::vector<asio::const_buffer> buffers_;
  size_t queued_bytes_ = 0;
  std::unique_ptr<asio::steady_timer> close_timer_;
};

}  // namespace herald::net
