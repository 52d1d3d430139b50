#include "net/websocket.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <climits>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "metrics/metrics.hpp"
#include "net/ws_frame_parser.hpp"

namespace herald::net {
namespace {

constexpr size_t kReadChunk = size_t{64} * 1024;
constexpr auto kCloseGrace = std::chrono::seconds(2);
constexpr size_t kMaxServerFrameHeader = 10;
constexpr uint8_t kRawOpcode = 0xff;
// Keeps the counters in 32 bits; no sane bound comes near.
constexpr size_t kLimitCap = size_t{1} << 31;

char* read_buffer() {
  thread_local std::array<char, kReadChunk> buffer;
  return buffer.data();
}

uint32_t capped(size_t limit) { return static_cast<uint32_t>(std::min(limit, kLimitCap)); }

std::shared_ptr<const std::string> close_payload(uint16_t code) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xff);
  return std::make_shared<const std::string>(std::move(payload));
}

// The header a server frame of `payload` bytes takes; raw bytes (the handshake response) have none.
size_t header_size(uint8_t opcode, size_t payload) {
  if (opcode == kRawOpcode) return 0;
  return payload < 126 ? 2 : payload <= 0xffff ? 4 : 10;
}

// Frames gathered for one sendmsg: a header and a payload iovec per frame, the headers stored
// alongside. One per thread, reused by every write.
class Gather {
 public:
  static constexpr int kMaxIov = IOV_MAX;

  void reset() {
    iov_count_ = 0;
    frames_ = 0;
    bytes_ = 0;
  }
  bool full() const { return iov_count_ + 2 > kMaxIov; }
  size_t bytes() const { return bytes_; }

  // Adds one frame less its first `skip` bytes, which went out in an earlier write.
  void add(uint8_t opcode, const std::string& payload, size_t skip) {
    char* header = headers_[frames_++].data();
    size_t size = encode_header(header, opcode, payload.size());
    if (skip < size) {
      push(header + skip, size - skip);
      skip = 0;
    } else {
      skip -= size;
    }
    if (skip < payload.size()) push(payload.data() + skip, payload.size() - skip);
  }

  // One non-blocking write: the bytes taken, 0 when the socket is full, -1 on error (errno set).
  ssize_t send(int fd) {
    msghdr message{};
    message.msg_iov = iov_.data();
    message.msg_iovlen = static_cast<size_t>(iov_count_);
    for (;;) {
      ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    }
  }

  // Server frames are never masked: FIN + opcode, then the length in 1, 3 or 9 bytes.
  static size_t encode_header(char* out, uint8_t opcode, size_t size) {
    size_t length = header_size(opcode, size);
    if (length == 0) return 0;
    out[0] = static_cast<char>(0x80 | opcode);
    if (length == 2) {
      out[1] = static_cast<char>(size);
    } else if (length == 4) {
      out[1] = static_cast<char>(126);
      out[2] = static_cast<char>((size >> 8) & 0xff);
      out[3] = static_cast<char>(size & 0xff);
    } else {
      out[1] = static_cast<char>(127);
      for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<char>((size >> (56 - 8 * i)) & 0xff);
    }
    return length;
  }

 private:
  void push(const char* data, size_t size) {
    iov_[iov_count_++] = iovec{const_cast<char*>(data), size};
    bytes_ += size;
  }

  std::array<iovec, kMaxIov> iov_;
  std::array<std::array<char, kMaxServerFrameHeader>, kMaxIov> headers_;  // a frame takes one iovec or more
  int iov_count_ = 0;
  int frames_ = 0;
  size_t bytes_ = 0;
};

Gather& gather() {
  thread_local Gather instance;
  instance.reset();
  return instance;
}

size_t frame_size(uint8_t opcode, size_t payload) { return header_size(opcode, payload) + payload; }

using LoopSocket = asio::basic_stream_socket<asio::ip::tcp, asio::io_context::executor_type>;

// Moves the descriptor onto the loop's concrete executor (the handshake came in on a polymorphic one).
LoopSocket adopt(asio::ip::tcp::socket& socket) {
  auto polymorphic = socket.get_executor();
  const auto* executor = polymorphic.target<asio::io_context::executor_type>();
  if (!executor) throw std::invalid_argument("net::WebSocket needs a socket on an io_context");
  LoopSocket adopted(*executor);
  boost::system::error_code ec;
  auto protocol = socket.local_endpoint(ec).protocol();
  int fd = socket.release(ec);
  if (ec) return adopted;  // already closed: the first wait reports it
  adopted.assign(protocol, fd, ec);
  if (ec) ::close(fd);
  return adopted;
}

}  // namespace

// What the connections of one loop queued during one turn: frames chained per connection, and
// their payloads. A broadcast's payload is held once for all the connections it reaches, so the
// per-recipient cost is one small frame and no reference count shared with other loops.
struct WebSocket::Turn {
  struct Frame {
    uint32_t payload;  // index in `payloads`
    uint32_t next;     // the connection's next frame
    uint8_t opcode;
  };
  struct Pending {
    std::shared_ptr<WebSocket> ws;  // alive until written
    uint32_t first;
  };

  const std::string& payload(const Frame& frame) const { return *payloads[frame.payload]; }

  uint32_t add_payload(const Bytes& bytes) {
    // A broadcast queues the same few buffers (a packet and its attachments) to each recipient.
    constexpr size_t kRecent = 4;
    for (size_t i = payloads.size(); i > 0 && payloads.size() - i < kRecent; --i)
      if (payloads[i - 1] == bytes) return static_cast<uint32_t>(i - 1);
    payloads.push_back(bytes);
    return static_cast<uint32_t>(payloads.size() - 1);
  }

  void clear() {
    frames.clear();
    payloads.clear();
    sockets.clear();
  }

  std::vector<Frame> frames;
  std::vector<Bytes> payloads;
  std::vector<Pending> sockets;  // the connections with frames, and where their chains start
};

// One per loop (io_context service): the turn being queued. Its first frame posts one flush, which
// writes each connection's chain with one sendmsg: a broadcast costs one write per recipient, and
// no write operation or completion.
class WebSocket::Outbox : public asio::execution_context::service {
 public:
  static inline asio::execution_context::id id;

  explicit Outbox(asio::io_context& context) : service(context), context_(context) {}

  void add(WebSocket& ws, const Bytes& bytes, uint8_t opcode) {
    auto index = static_cast<uint32_t>(turn_.frames.size());
    turn_.frames.push_back(Turn::Frame{turn_.add_payload(bytes), kNoFrame, opcode});
    if (ws.turn_last_ != kNoFrame) {
      turn_.frames[ws.turn_last_].next = index;
    } else {
      turn_.sockets.push_back(Turn::Pending{ws.shared_from_this(), index});
      if (!posted_) {
        posted_ = true;
        asio::post(context_, [this] { flush(); });
      }
    }
    ws.turn_last_ = index;
  }

 private:
  void flush() {
    posted_ = false;
    // What is queued while this turn is written (a close reported to a handler may send) goes
    // into the next one; the two turns keep their capacity.
    std::swap(turn_, flushing_);
    for (auto& pending : flushing_.sockets) pending.ws->turn_last_ = kNoFrame;
    for (auto& pending : flushing_.sockets) pending.ws->flush_turn(flushing_, pending.first);
    flushing_.clear();
  }

  // The io_context is going away: its pending flush will not run.
  void shutdown() override {
    for (auto& pending : turn_.sockets) pending.ws->turn_last_ = kNoFrame;
    turn_.clear();
  }

  asio::io_context& context_;
  Turn turn_;
  Turn flushing_;
  bool posted_ = false;
};

struct WebSocket::Rare {
  using Timer = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                           asio::io_context::executor_type>;

  // The parser while a frame or a message is unfinished; an idle connection keeps none.
  std::optional<WsFrameParser> parser;
  // Frames the socket could not take yet, from backlog[head], of which `written` bytes went out.
  std::vector<Outgoing> backlog;
  size_t head = 0;
  size_t written = 0;
  std::optional<Timer> close_timer;
};

WebSocket::WebSocket(asio::ip::tcp::socket socket, const WebSocketLimits& limits)
    : socket_(adopt(socket)),
      outbox_(&asio::use_service<Outbox>(socket_.get_executor().context())),
      max_message_(capped(limits.max_message)),
      max_queued_bytes_(capped(limits.max_queued_bytes)) {
  static_assert(kRaw == kRawOpcode);
}

WebSocket::~WebSocket() = default;

void WebSocket::start(std::string handshake_response, std::string already_read) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  enqueue(std::make_shared<const std::string>(std::move(handshake_response)), kRaw);
  if (!already_read.empty() && !consume(already_read.data(), already_read.size())) return;
  trim_rare();
  wait_readable();
}

// ---- reading ----

void WebSocket::wait_readable() {
  socket_.async_wait(Socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) return self->on_readable();
    if (self->state_ != State::Closed) self->fail();
  });
}

void WebSocket::on_readable() {
  char* buffer = read_buffer();
  while (state_ != State::Closed) {
    boost::system::error_code ec;
    size_t n = socket_.read_some(asio::buffer(buffer, kReadChunk), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) return fail();  // EOF or reset: during our own close this is the expected end
    metrics::global().bytes_in.fetch_add(n, std::memory_order_relaxed);
    if (!consume(buffer, n)) return;
    if (n < kReadChunk) break;
  }
  if (state_ == State::Closed) return;
  trim_rare();
  wait_readable();
}

// Hands what the parser finds to the handler, and answers control frames.
struct WebSocket::FrameSink final : WsFrameHandler {
  explicit FrameSink(WebSocket& socket) : ws(socket) {}

  bool on_message(std::string_view data, bool binary) override { return ws.deliver(data, binary); }

  bool on_ping(std::string_view payload) override {
    // After our close frame nothing more may be sent; a peer that pings without reading is slow.
    if (ws.state_ != State::Open) return true;
    return ws.enqueue_bounded(std::make_shared<const std::string>(payload), kPong);
  }

  bool on_pong(std::string_view) override { return true; }

  bool on_close(uint16_t code, std::string_view) override {
    ws.peer_closed_ = true;
    if (ws.state_ == State::Open) {
      // Echo the peer's code, as RFC 6455 5.5.1 asks (1000 when it gave none), then end the connection.
      ws.close(code == kCloseNoStatus ? kCloseNormal : code);
      ws.notify_closed();
    } else {
      ws.shutdown_socket();
    }
    return false;
  }

  WebSocket& ws;
};

bool WebSocket::consume(char* data, size_t size) {
  // The parser is taken out of Rare for the parse, so that what the handlers do to Rare cannot pull
  // it away meanwhile; it goes back only if a frame or a message is left unfinished.
  std::optional<WsFrameParser> parser;
  if (rare_ && rare_->parser) {
    parser = std::move(rare_->parser);
    rare_->parser.reset();
  } else {
    parser.emplace(max_message_);
  }
  FrameSink sink(*this);
  if (!parser->feed(data, size, sink)) {
    if (uint16_t code = parser->error()) protocol_error(code);
    return false;
  }
  if (state_ == State::Closed) return false;
  if (!parser->idle()) rare().parser = std::move(parser);
  return true;
}

bool WebSocket::deliver(std::string_view message, bool binary) {
  if (handler_) handler_->on_ws_message(*this, message, binary);
  return state_ == State::Open;
}

// ---- writing ----

bool WebSocket::send(const Bytes& bytes, bool binary) {
  if (state_ != State::Open) return false;
  return enqueue_bounded(bytes, binary ? kBinary : kText);
}

bool WebSocket::enqueue_bounded(const Bytes& bytes, uint8_t opcode) {
  if (size_t{queued_bytes_} + bytes->size() > max_queued_bytes_) {
    // The client cannot keep up: cut it off rather than let memory grow.
    overflowed_ = true;
    shutdown_socket();
    notify_closed();
    return false;
  }
  enqueue(bytes, opcode);
  return true;
}

void WebSocket::enqueue(const Bytes& bytes, uint8_t opcode) {
  queued_bytes_ += static_cast<uint32_t>(bytes->size());
  // Out at the end of this turn, or behind the frames that wait for the socket; after this turn's
  // frames in either case (they can still be in the outbox when the socket filled up).
  if (turn_last_ == kNoFrame && waiting_writable()) {
    rare_->backlog.push_back(Outgoing{bytes, opcode});
  } else {
    outbox_->add(*this, bytes, opcode);
  }
}

bool WebSocket::waiting_writable() const { return rare_ && !rare_->backlog.empty(); }

void WebSocket::flush_turn(const Turn& turn, uint32_t first) {
  if (state_ == State::Closed) return;
  const auto& frames = turn.frames;
  if (waiting_writable()) {
    for (uint32_t i = first; i != kNoFrame; i = frames[i].next)
      rare_->backlog.push_back(Outgoing{turn.payloads[frames[i].payload], frames[i].opcode});
    return;
  }
  Gather& batch = gather();
  for (uint32_t i = first; i != kNoFrame && !batch.full(); i = frames[i].next)
    batch.add(frames[i].opcode, turn.payload(frames[i]), 0);
  ssize_t n = batch.send(socket_.native_handle());
  if (n < 0) return fail();
  metrics::global().bytes_out.fetch_add(static_cast<size_t>(n), std::memory_order_relaxed);
  // Account for what went out; the rest (a full socket, or more frames than one write takes)
  // waits in the backlog.
  auto left = static_cast<size_t>(n);
  uint32_t i = first;
  for (; i != kNoFrame; i = frames[i].next) {
    size_t payload = turn.payload(frames[i]).size();
    size_t size = frame_size(frames[i].opcode, payload);
    if (left < size) break;
    left -= size;
    queued_bytes_ -= static_cast<uint32_t>(payload);
  }
  if (i == kNoFrame) return on_drained();
  Rare& state = rare();
  state.written = left;
  for (; i != kNoFrame; i = frames[i].next)
    state.backlog.push_back(Outgoing{turn.payloads[frames[i].payload], frames[i].opcode});
  if (static_cast<size_t>(n) < batch.bytes()) return wait_writable();
  write_backlog();
}

void WebSocket::write_backlog() {
  Rare& state = *rare_;
  for (;;) {
    Gather& batch = gather();
    for (size_t i = state.head; i < state.backlog.size() && !batch.full(); ++i)
      batch.add(state.backlog[i].opcode, *state.backlog[i].bytes, i == state.head ? state.written : 0);
    ssize_t n = batch.send(socket_.native_handle());
    if (n < 0) return fail();
    metrics::global().bytes_out.fetch_add(static_cast<size_t>(n), std::memory_order_relaxed);
    auto left = static_cast<size_t>(n) + state.written;
    for (; state.head < state.backlog.size(); ++state.head) {
      Outgoing& frame = state.backlog[state.head];
      size_t size = frame_size(frame.opcode, frame.bytes->size());
      if (left < size) break;
      left -= size;
      queued_bytes_ -= static_cast<uint32_t>(frame.bytes->size());
      frame.bytes.reset();
    }
    state.written = left;
    if (state.head == state.backlog.size()) break;
    if (static_cast<size_t>(n) < batch.bytes()) {
      // Drop the sent prefix once it is the larger part, so a long backlog is not moved per write.
      if (state.head * 2 >= state.backlog.size()) {
        state.backlog.erase(state.backlog.begin(), state.backlog.begin() + static_cast<ptrdiff_t>(state.head));
        state.head = 0;
      }
      return wait_writable();
    }
  }
  std::vector<Outgoing>().swap(state.backlog);  // an idle connection keeps no queue storage
  state.head = 0;
  state.written = 0;
  on_drained();
}

void WebSocket::wait_writable() {
  socket_.async_wait(Socket::wait_write, [self = shared_from_this()](const boost::system::error_code& ec) {
    if (self->state_ == State::Closed) return;
    if (ec) return self->fail();
    self->write_backlog();
  });
}

void WebSocket::on_drained() {
  trim_rare();
  // Our close frame is out (nothing queues after it): half-close and let the peer finish (or the
  // grace timer end it).
  if (state_ != State::Closing || turn_last_ != kNoFrame) return;
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_send, ignored);
  if (peer_closed_) shutdown_socket();
}

WebSocket::Rare& WebSocket::rare() {
  if (!rare_) rare_ = std::make_unique<Rare>();
  return *rare_;
}

void WebSocket::trim_rare() {
  if (rare_ && !rare_->parser && rare_->backlog.empty() && !rare_->close_timer) rare_.reset();
}

// ---- closing ----

void WebSocket::close(uint16_t code) {
  if (state_ != State::Open) return;
  state_ = State::Closing;
  // An unfinished frame or message stays with the parser: the peer's close frame is still to be read.
  enqueue(close_payload(code), kClose);
  auto& timer = rare().close_timer.emplace(socket_.get_executor(), kCloseGrace);
  timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->shutdown_socket();
  });
}

void WebSocket::protocol_error(uint16_t code) {
  close(code);
  notify_closed();
}

void WebSocket::fail() {
  shutdown_socket();
  notify_closed();
}

void WebSocket::shutdown_socket() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  boost::system::error_code ignored;
  socket_.close(ignored);
  // A closed connection needs none of its queues or timer; callers touch none of it afterwards.
  queued_bytes_ = 0;
  rare_.reset();
}

void WebSocket::notify_closed() {
  if (auto* handler = handler_) {
    handler_ = nullptr;
    handler->on_ws_closed(*this);
  }
}

}  // namespace herald::net
