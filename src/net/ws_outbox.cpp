// WebSocket writing: frames queued during a loop turn go out at its end, one gather sendmsg per
// connection (see WebSocket::Outbox); what the socket cannot take waits in the connection's backlog
// for writability.
#include <boost/asio/post.hpp>
#include <memory>
#include <utility>
#include <vector>

#include "net/frame_gather.hpp"
#include "net/tls.hpp"
#include "net/transport_counters.hpp"
#include "net/websocket.hpp"
#include "net/websocket_rare.hpp"

namespace herald::net {

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

WebSocket::Outbox& WebSocket::outbox_of(asio::io_context& context) { return asio::use_service<Outbox>(context); }

bool WebSocket::send(const Bytes& bytes, bool binary) {
  if (state_ != State::Open) return false;
  return enqueue_bounded(bytes, binary ? kBinary : kText);
}

bool WebSocket::enqueue_bounded(const Bytes& bytes, uint8_t opcode) {
  if (size_t{queued_bytes_} + bytes->size() > max_queued_bytes_) {
    // The client cannot keep up: cut it off rather than let memory grow. The socket is closed now
    // (later sends are refused); the layers above hear of it at the end of this loop turn, not inside
    // this call, whose caller may be iterating over sockets that the close would tear down.
    overflowed_ = true;
    shutdown_socket();
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->notify_closed(); });
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

ssize_t WebSocket::send_batch(FrameGather& batch) {
  TlsSession* session = tls();
  return session ? batch.send(*session) : batch.send(socket_.native_handle());
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
  FrameGather& batch = FrameGather::for_thread();
  for (uint32_t i = first; i != kNoFrame && !batch.full(); i = frames[i].next)
    batch.add(frames[i].opcode, turn.payload(frames[i]), 0);
  ssize_t n = send_batch(batch);
  if (n < 0) return fail();
  transport_counters().bytes_out.fetch_add(static_cast<size_t>(n), std::memory_order_relaxed);
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
    FrameGather& batch = FrameGather::for_thread();
    for (size_t i = state.head; i < state.backlog.size() && !batch.full(); ++i)
      batch.add(state.backlog[i].opcode, *state.backlog[i].bytes, i == state.head ? state.written : 0);
    ssize_t n = send_batch(batch);
    if (n < 0) return fail();
    transport_counters().bytes_out.fetch_add(static_cast<size_t>(n), std::memory_order_relaxed);
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
  if (TlsSession* session = tls()) session->close_notify();
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

}  // namespace herald::net
