#include "net/websocket.hpp"

#include <array>
#include <boost/asio/write.hpp>
#include <cstring>

#include "metrics/metrics.hpp"
#include "net/utf8.hpp"

namespace herald::net {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr auto kCloseGrace = std::chrono::seconds(2);

char* read_buffer() {
  thread_local std::array<char, kReadChunk> buffer;
  return buffer.data();
}

void unmask(char* data, size_t size, const uint8_t key[4]) {
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>(data[i] ^ key[i & 3]);
}

// Server frames are never masked: FIN + opcode, then the length in 1, 3 or 9 bytes.
void append_frame_header(std::string& out, uint8_t opcode, size_t size) {
  out += static_cast<char>(0x80 | opcode);
  if (size < 126) {
    out += static_cast<char>(size);
  } else if (size <= 0xffff) {
    out += static_cast<char>(126);
    out += static_cast<char>((size >> 8) & 0xff);
    out += static_cast<char>(size & 0xff);
  } else {
    out += static_cast<char>(127);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((size >> shift) & 0xff);
  }
}

std::shared_ptr<const std::string> close_payload(uint16_t code) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xff);
  return std::make_shared<const std::string>(std::move(payload));
}

}  // namespace

WebSocket::WebSocket(asio::ip::tcp::socket socket, const WebSocketLimits& limits)
    : socket_(std::move(socket)), limits_(limits) {}

WebSocket::~WebSocket() = default;

void WebSocket::start(std::string handshake_response, std::string already_read) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  enqueue(std::make_shared<const std::string>(std::move(handshake_response)), kRaw);
  if (!already_read.empty() && !consume(already_read.data(), already_read.size())) return;
  wait_readable();
}

void WebSocket::wait_readable() {
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       if (ec) {
                         if (self->state_ != State::Closed) {
                           self->shutdown_socket();
                           self->notify_closed();
                         }
                         return;
                       }
                       self->on_readable();
                     });
}

void WebSocket::on_readable() {
  char* buffer = read_buffer();
  while (state_ != State::Closed) {
    boost::system::error_code ec;
    size_t n = socket_.read_some(asio::buffer(buffer, kReadChunk), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) {
      // EOF or reset: during our own close this is the expected end.
      shutdown_socket();
      notify_closed();
      return;
    }
    metrics::global().bytes_in.fetch_add(n, std::memory_order_relaxed);
    if (!consume(buffer, n)) return;
    if (n < kReadChunk) break;
  }
  if (state_ != State::Closed) wait_readable();
}

bool WebSocket::consume(char* data, size_t size) {
  // Frames split across reads are completed in partial_; otherwise parse straight from the buffer.
  if (!partial_.empty()) {
    partial_.append(data, size);
    std::string pending;
    pending.swap(partial_);
    bool open = consume(pending.data(), pending.size());
    return open;
  }
  size_t pos = 0;
  while (state_ != State::Closed) {
    size_t avail = size - pos;
    if (avail < 2) break;
    auto* p = reinterpret_cast<uint8_t*>(data + pos);
    bool fin = p[0] & 0x80;
    uint8_t opcode = p[0] & 0x0f;
    bool masked = p[1] & 0x80;
    uint64_t length = p[1] & 0x7f;
    if (p[0] & 0x70) return protocol_error(1002), false;  // no extension was negotiated
    if (!masked) return protocol_error(1002), false;      // clients must mask (RFC 6455 5.1)
    size_t header = 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) + 4;
    if (avail < header) break;
    if (length == 126) {
      length = (uint64_t{p[2]} << 8) | p[3];
    } else if (length == 127) {
      length = 0;
      for (int i = 0; i < 8; ++i) length = (length << 8) | p[2 + i];
      if (length >> 63) return protocol_error(1002), false;
    }
    bool control = opcode & 0x8;
    if (control && (!fin || length > 125)) return protocol_error(1002), false;
    size_t so_far = in_message_ && !control ? message_.size() : 0;
    if (length > limits_.max_message || so_far + length > limits_.max_message) return protocol_error(1009), false;
    if (avail - header < length) break;
    uint8_t key[4];
    std::memcpy(key, p + header - 4, 4);
    char* payload = data + pos + header;
    unmask(payload, length, key);
    pos += header + length;
    if (!on_frame(opcode, fin, payload, length)) return false;
  }
  if (state_ == State::Closed) return false;
  if (pos < size) partial_.assign(data + pos, size - pos);
  return true;
}

bool WebSocket::on_frame(uint8_t opcode, bool fin, char* payload, size_t size) {
  switch (opcode) {
    case kText:
    case kBinary:
      if (in_message_) return protocol_error(1002), false;
      if (fin) return deliver(std::string_view(payload, size), opcode == kBinary);
      in_message_ = true;
      message_binary_ = opcode == kBinary;
      message_.assign(payload, size);
      return true;
    case kContinuation: {
      if (!in_message_) return protocol_error(1002), false;
      message_.append(payload, size);
      if (!fin) return true;
      std::string message;
      message.swap(message_);
      in_message_ = false;
      return deliver(message, message_binary_);
    }
    case kClose: {
      peer_closed_ = true;
      if (state_ == State::Open) {
        // Echo the peer's code, as RFC 6455 5.5.1 asks, then end the connection.
        uint16_t code = size >= 2 ? static_cast<uint16_t>((uint8_t(payload[0]) << 8) | uint8_t(payload[1])) : 1000;
        close(code);
        notify_closed();
      } else {
        shutdown_socket();
      }
      return false;
    }
    case kPing:
      enqueue(std::make_shared<const std::string>(payload, size), kPong);
      return true;
    case kPong:
      return true;
    default:
      return protocol_error(1002), false;
  }
}

bool WebSocket::deliver(std::string_view message, bool binary) {
  if (!binary && !is_valid_utf8(message)) return protocol_error(1007), false;
  if (handler_) handler_->on_ws_message(*this, message, binary);
  return state_ == State::Open;
}

bool WebSocket::send(const Bytes& bytes, bool binary) {
  if (state_ != State::Open) return false;
  if (queued_bytes_ + bytes->size() > limits_.max_queued_bytes) {
    // The client cannot keep up: cut it off rather than let memory grow.
    overflowed_ = true;
    shutdown_socket();
    notify_closed();
    return false;
  }
  enqueue(bytes, binary ? kBinary : kText);
  return true;
}

void WebSocket::enqueue(Bytes bytes, uint8_t opcode) {
  queued_bytes_ += bytes->size();
  queue_.push_back(Outgoing{std::move(bytes), opcode});
  if (!writing_) write_queued();
}

void WebSocket::write_queued() {
  writing_ = true;
  inflight_.swap(queue_);
  headers_.clear();
  headers_.reserve(inflight_.size() * 10);
  for (const auto& item : inflight_)
    if (item.opcode != kRaw) append_frame_header(headers_, item.opcode, item.bytes->size());
  buffers_.clear();
  size_t offset = 0;
  for (const auto& item : inflight_) {
    if (item.opcode != kRaw) {
      size_t length = item.bytes->size() < 126 ? 2 : item.bytes->size() <= 0xffff ? 4 : 10;
      buffers_.emplace_back(headers_.data() + offset, length);
      offset += length;
    }
    buffers_.emplace_back(item.bytes->data(), item.bytes->size());
  }
  asio::async_write(socket_, buffers_,
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t written) {
                      metrics::global().bytes_out.fetch_add(written, std::memory_order_relaxed);
                      self->writing_ = false;
                      for (const auto& item : self->inflight_) self->queued_bytes_ -= item.bytes->size();
                      self->inflight_.clear();
                      if (ec) {
                        if (self->state_ != State::Closed) {
                          self->shutdown_socket();
                          self->notify_closed();
                        }
                        return;
                      }
                      if (!self->queue_.empty()) {
                        self->write_queued();
                      } else if (self->state_ == State::Closing) {
                        // Our close frame is out: half-close and let the peer finish (or the grace timer).
                        boost::system::error_code ignored;
                        self->socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                        if (self->peer_closed_) self->shutdown_socket();
                      }
                    });
}

void WebSocket::close(uint16_t code) {
  if (state_ != State::Open) return;
  state_ = State::Closing;
  in_message_ = false;
  message_.clear();
  enqueue(close_payload(code), kClose);
  close_timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor(), kCloseGrace);
  close_timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->shutdown_socket();
  });
}

void WebSocket::protocol_error(uint16_t code) {
  close(code);
  notify_closed();
}

void WebSocket::shutdown_socket() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (close_timer_) close_timer_->cancel();
  partial_.clear();
  partial_.shrink_to_fit();
}

void WebSocket::notify_closed() {
  if (auto* handler = handler_) {
    handler_ = nullptr;
    handler->on_ws_closed(*this);
  }
}

}  // namespace herald::net
