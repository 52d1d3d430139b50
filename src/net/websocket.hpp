// A lean server-side WebSocket (RFC 6455) on a bare Asio TCP socket, plain or under TLS (OpenSSL on
// the same descriptor, net/tls.hpp). While idle it holds no read buffer, no write queue and no
// coroutine frame: it waits for readability, then reads into a per-thread buffer. Outgoing messages
// are shared immutable buffers; what queues during one loop turn goes out at the end of that turn
// in one gather sendmsg (one TLS write), straight from the loop (no write operation is started
// unless the socket is full). No extensions (permessage-deflate is refused by not being offered).
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace herald::net {

namespace asio = boost::asio;
class WebSocket;
class TlsSession;
class FrameGather;

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

  // The socket must belong to an io_context that one thread runs (a loop).
  WebSocket(asio::ip::tcp::socket socket, const WebSocketLimits& limits);
  // A plain one, or with `tls` (the TLS session on the socket's descriptor, its handshake done).
  static std::shared_ptr<WebSocket> make(asio::ip::tcp::socket socket, const WebSocketLimits& limits,
                                         std::unique_ptr<TlsSession> tls);
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
  // The loop's concrete executor: a smaller socket, and smaller pending operations, than with the
  // polymorphic one.
  using Socket = asio::basic_stream_socket<asio::ip::tcp, asio::io_context::executor_type>;
  enum class State : uint8_t { Open, Closing, Closed };
  enum Opcode : uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10, kRaw = 0xff };
  static constexpr uint32_t kNoFrame = UINT32_MAX;
  // A message waiting for the socket: a shared payload and its frame type.
  struct Outgoing {
    Bytes bytes;
    uint8_t opcode;
  };
  struct Turn;       // the frames the connections of one loop queued during one turn
  class Outbox;      // per loop: the current turn, written at its end
  struct Rare;       // state that only an unfinished frame or message, a full socket or a close needs
  struct FrameSink;  // what the frame parser finds, handed to this connection
  struct WithTls;    // a TLS connection's WebSocket: the session beside the plain state

  // The TLS session, for a connection made WithTls (and not closed yet); else null.
  TlsSession* tls() const;
  void wait_readable();
  void on_readable();
  void read_plain(char* buffer);
  void read_tls(char* buffer);
  // One write of a gathered batch, on the socket or through TLS.
  ssize_t send_batch(FrameGather& batch);
  // Parses frames from `data` (unmasking in place); keeps an unfinished one. False once closed.
  bool consume(char* data, size_t size);
  bool deliver(std::string_view message, bool binary);
  // Queues a frame unless that passes the bound; then the connection is cut off (false).
  bool enqueue_bounded(const Bytes& bytes, uint8_t opcode);
  void enqueue(const Bytes& bytes, uint8_t opcode);
  // Writes this connection's frames of `turn`, chained from `first`.
  void flush_turn(const Turn& turn, uint32_t first);
  void write_backlog();
  void wait_writable();
  void on_drained();
  bool waiting_writable() const;
  Rare& rare();
  static Outbox& outbox_of(asio::io_context& context);
  void trim_rare();
  void fail();
  void protocol_error(uint16_t code);
  void shutdown_socket();
  void notify_closed();

  Socket socket_;
  Outbox* outbox_;
  WebSocketHandler* handler_ = nullptr;
  std::unique_ptr<Rare> rare_;
  uint32_t max_message_;
  uint32_t max_queued_bytes_;
  uint32_t queued_bytes_ = 0;
  uint32_t turn_last_ = kNoFrame;  // this connection's last frame in the current turn, if it has any
  State state_ = State::Open;
  bool overflowed_ : 1 = false;
  bool peer_closed_ : 1 = false;
  bool with_tls_ : 1 = false;  // this is a WithTls (a plain connection does not pay for the pointer)
};

}  // namespace herald::net
