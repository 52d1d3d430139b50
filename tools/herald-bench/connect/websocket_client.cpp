#include "connect/websocket_client.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <span>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/websocket/error.hpp>

#include "common/net.hpp"
#include "ws/frame.hpp"
#include "ws/handshake.hpp"

namespace herald::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;

namespace {

constexpr std::chrono::seconds kHandshakeTimeout{10};
// One read takes up to this much: a few hundred messages at once when the client falls behind.
constexpr size_t kReadChunk = size_t{64} * 1024;
// Full chunks read from one connection before the others get their turn.
constexpr int kReadsPerTurn = 8;

// Every connection of the worker's one thread reads here, one after the other.
std::span<char> read_chunk() {
  thread_local std::array<char, kReadChunk> chunk;
  return chunk;
}

ErrorKind classify(const error_code& ec, bool connecting) {
  if (ec == asio::error::connection_refused) return ErrorKind::Refused;
  if (ec == beast::error::timeout || ec == asio::error::timed_out) return ErrorKind::Timeout;
  if (ec == websocket::error::closed || ec == asio::error::eof || ec == beast::http::error::end_of_stream ||
      ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
    return ErrorKind::Closed;
  // During the upgrade, HTTP and WebSocket errors mean the server declined or answered oddly.
  bool http_or_websocket = ec.category() == make_error_code(beast::http::error::bad_target).category() ||
                           ec.category() == make_error_code(websocket::error::closed).category();
  if (connecting && http_or_websocket) return ErrorKind::Handshake;
  return connecting ? ErrorKind::Connect : ErrorKind::Io;
}

bool would_block(const error_code& ec) { return ec == asio::error::would_block || ec == asio::error::try_again; }

}  // namespace

struct WebSocketClient::Upgrade {
  using Stream = beast::basic_stream<tcp, asio::io_context::executor_type, beast::unlimited_rate_policy>;

  explicit Upgrade(asio::io_context& io) : stream(io.get_executor()) {}

  Stream stream;  // with the timeouts the handshake needs; it gives its socket up when done
  std::string key;
  std::string request;
  beast::flat_buffer buffer;
  ws::UpgradeResponse response;
};

WebSocketClient::WebSocketClient(ClientContext& context, uint64_t index)
    : Client(context, index), socket_(context.io.get_executor()) {}

WebSocketClient::~WebSocketClient() = default;

void WebSocketClient::open_transport() {
  upgrade_ = std::make_unique<Upgrade>(context_.io);
  reader_.reset();
  outbox_.clear();
  sending_.clear();
  open_ = reading_ = writing_ = false;

  error_code bind_ec;
  bind_local_address(upgrade_->stream.socket(), local_address(), bind_ec);
  if (bind_ec) return fail(bind_ec, true);
  upgrade_->stream.expires_after(kHandshakeTimeout);
  upgrade_->stream.async_connect(context_.server, [this, generation = generation()](const error_code& ec) {
    if (!is_current(generation)) return;
    if (ec) return fail(ec, true);
    upgrade(generation);
  });
}

void WebSocketClient::upgrade(uint64_t generation) {
  Upgrade& upgrade = *upgrade_;
  error_code ignored;
  upgrade.stream.socket().set_option(tcp::no_delay(true), ignored);
  upgrade.key = ws::make_key(context_.random);
  upgrade.request =
      ws::upgrade_request(context_.host_header, context_.socketio_path + "?EIO=4&transport=websocket", upgrade.key);
  upgrade.stream.expires_after(kHandshakeTimeout);  // for the request and the answer together
  asio::async_write(upgrade.stream, asio::buffer(upgrade.request), [this, generation](const error_code& ec, size_t) {
    if (!is_current(generation)) return;
    if (ec) return fail(ec, true);
    beast::http::async_read(upgrade_->stream, upgrade_->buffer, upgrade_->response,
                            [this, generation](const error_code& read_ec, size_t) {
                              if (!is_current(generation)) return;
                              if (read_ec) return fail(read_ec, true);
                              if (auto declined = ws::check_upgrade(upgrade_->response, upgrade_->key))
                                return fail(declined, true);
                              on_upgraded();
                            });
  });
}

void WebSocketClient::on_upgraded() {
  auto upgrade = std::move(upgrade_);  // freed on return: an open connection keeps none of it
  socket_ = upgrade->stream.release_socket();
  error_code ec;
  socket_.non_blocking(true, ec);  // reads and writes are tried at once, never waited for
  if (ec) return fail(ec, false);
  open_ = true;

  // The server's first frames may have come along with its answer.
  reading_ = true;
  context_.received_us = epoch_us();
  auto early = upgrade->buffer.cdata();
  const char* data = static_cast<const char*>(early.data());
  size_t left = early.size();
  while (left > 0) {
    auto space = reader_.prepare(read_chunk());
    size_t size = std::min(left, space.size());
    std::memcpy(space.data(), data, size);
    data += size;
    left -= size;
    if (!handle_read(size)) return;
  }
  // Read before waiting: whatever came in since the handshake's last read may already have
  // signalled readiness, and that signal is not repeated.
  on_readable();
}

void WebSocketClient::wait_readable() {
  socket_.async_wait(Socket::wait_read, [this, generation = generation()](const error_code& ec) {
    if (!is_current(generation)) return;
    if (ec) return fail(ec, false);
    on_readable();
  });
}

void WebSocketClient::on_readable() {
  auto generation = this->generation();
  reading_ = true;
  for (int reads = 0;; ++reads) {
    if (reads == kReadsPerTurn) {
      // More is waiting; it stays readable, so come back after the other connections.
      reading_ = false;
      flush();
      if (!is_current(generation)) return;
      return asio::post(context_.io.get_executor(), [this, generation] {
        if (is_current(generation)) on_readable();
      });
    }
    auto space = reader_.prepare(read_chunk());
    error_code ec;
    size_t size = socket_.read_some(asio::buffer(space.data(), space.size()), ec);
    if (would_block(ec)) break;
    if (ec) return fail(ec, false);
    // Everything one read brings was received at the same moment.
    context_.received_us = epoch_us();
    if (!handle_read(size)) return;
    // A short read emptied the socket: new data will make it readable again.
    if (size < space.size()) break;
  }
  reading_ = false;
  flush();
  if (is_current(generation)) wait_readable();
}

bool WebSocketClient::handle_read(size_t size) {
  switch (reader_.commit(size, *this)) {
    case ws::MessageReader::Status::Ok:
      return true;
    case ws::MessageReader::Status::Stopped:
      return false;
    case ws::MessageReader::Status::Closed:
      fail(websocket::error::closed, false);
      return false;
    case ws::MessageReader::Status::Invalid:
      fail(websocket::error::bad_data_frame, false);
      return false;
    case ws::MessageReader::Status::TooBig:
      fail(websocket::error::message_too_big, false);
      return false;
  }
  return false;
}

bool WebSocketClient::on_message(std::string_view data, bool /*binary*/) {
  auto generation = this->generation();
  on_packet(data);
  return is_current(generation);
}

bool WebSocketClient::on_ping(std::string_view payload) {
  queue_frame(ws::Opcode::Pong, payload);
  return true;
}

void WebSocketClient::on_close(std::string_view payload) {
  // Answer with the server's status code (or 1000, normal), as the closing handshake asks.
  static constexpr char kNormal[] = {'\x03', '\xe8'};
  queue_frame(ws::Opcode::Close, payload.size() >= 2 ? payload.substr(0, 2) : std::string_view(kNormal, 2));
  flush();
}

void WebSocketClient::send_packet(std::string_view packet) {
  queue_frame(ws::Opcode::Text, packet);
  if (open_ && !reading_) flush();
}

void WebSocketClient::queue_frame(ws::Opcode opcode, std::string_view payload) {
  ws::append_frame(outbox_, opcode, payload, static_cast<uint32_t>(context_.random()));
}

void WebSocketClient::flush() {
  if (!open_ || writing_ || outbox_.empty()) return;
  error_code ec;
  size_t written = socket_.write_some(asio::buffer(outbox_), ec);
  if (would_block(ec)) {
    written = 0;
  } else if (ec) {
    return fail(ec, false);
  }
  if (written == outbox_.size()) return outbox_.clear();
  // The socket is full: the rest goes out when it drains, while new frames gather in outbox_.
  sending_.assign(outbox_, written);
  outbox_.clear();
  writing_ = true;
  asio::async_write(socket_, asio::buffer(sending_),
                    [this, generation = generation()](const error_code& write_ec, size_t) {
                      if (!is_current(generation)) return;
                      writing_ = false;
                      if (write_ec) return fail(write_ec, false);
                      flush();
                    });
}

void WebSocketClient::close_transport() {
  error_code ignored;
  if (upgrade_) upgrade_->stream.socket().close(ignored);
  socket_.close(ignored);
  open_ = reading_ = writing_ = false;
  outbox_.clear();
}

void WebSocketClient::fail(const error_code& ec, bool connecting) { on_failure(classify(ec, connecting)); }

}  // namespace herald::bench
