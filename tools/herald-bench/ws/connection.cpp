// A client WebSocket connection: connect, upgrade, batched non-blocking reads and writes, close or reset.
#include "ws/connection.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <span>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/websocket/error.hpp>

#include "common/clock.hpp"
#include "common/net.hpp"
#include "ws/handshake.hpp"

namespace herald::bench::ws {

namespace beast = boost::beast;
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

bool would_block(const error_code& ec) { return ec == asio::error::would_block || ec == asio::error::try_again; }

}  // namespace

struct Connection::Upgrade {
  using Stream = beast::basic_stream<tcp, asio::io_context::executor_type, beast::unlimited_rate_policy>;

  explicit Upgrade(asio::io_context& io) : stream(io.get_executor()) {}

  Stream stream;  // with the timeouts the handshake needs; it gives its socket up when done
  std::string key;
  std::string request;
  beast::flat_buffer buffer;
  UpgradeResponse response;
};

Connection::Connection(asio::io_context& io, ConnectionEvents& events, std::minstd_rand& random)
    : io_(io), events_(events), random_(random), socket_(io.get_executor()) {}

Connection::~Connection() = default;

void Connection::open(const tcp::endpoint& server, const asio::ip::address& local, std::string_view host,
                      std::string_view target) {
  shut();
  reader_.reset();
  upgrade_ = std::make_unique<Upgrade>(io_);
  upgrade_->key = make_key(random_);
  upgrade_->request = upgrade_request(host, target, upgrade_->key);

  error_code bind_ec;
  bind_local_address(upgrade_->stream.socket(), local, bind_ec);
  if (bind_ec) return fail(bind_ec, true);
  upgrade_->stream.expires_after(kHandshakeTimeout);
  upgrade_->stream.async_connect(server, [this, generation = generation_](const error_code& ec) {
    if (!is_current(generation)) return;
    if (ec) return fail(ec, true);
    upgrade(generation);
  });
}

void Connection::upgrade(uint64_t generation) {
  Upgrade& upgrade = *upgrade_;
  error_code ignored;
  upgrade.stream.socket().set_option(tcp::no_delay(true), ignored);
  upgrade.stream.expires_after(kHandshakeTimeout);  // for the request and the answer together
  asio::async_write(upgrade.stream, asio::buffer(upgrade.request), [this, generation](const error_code& ec, size_t) {
    if (!is_current(generation)) return;
    if (ec) return fail(ec, true);
    beast::http::async_read(upgrade_->stream, upgrade_->buffer, upgrade_->response,
                            [this, generation](const error_code& read_ec, size_t) {
                              if (!is_current(generation)) return;
                              if (read_ec) return fail(read_ec, true);
                              if (auto declined = check_upgrade(upgrade_->response, upgrade_->key))
                                return fail(declined, true);
                              on_upgraded();
                            });
  });
}

void Connection::on_upgraded() {
  auto upgrade = std::move(upgrade_);  // freed on return: an open connection keeps none of it
  socket_ = upgrade->stream.release_socket();
  error_code ec;
  socket_.non_blocking(true, ec);  // reads and writes are tried at once, never waited for
  if (ec) return fail(ec, false);
  open_ = true;

  // The server's first frames may have come along with its answer.
  reading_ = true;
  received_us_ = epoch_us();
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

void Connection::wait_readable() {
  socket_.async_wait(Socket::wait_read, [this, generation = generation_](const error_code& ec) {
    if (!is_current(generation)) return;
    if (ec) return fail(ec, false);
    on_readable();
  });
}

void Connection::on_readable() {
  auto generation = generation_;
  reading_ = true;
  for (int reads = 0;; ++reads) {
    if (reads == kReadsPerTurn) {
      // More is waiting; it stays readable, so come back after the other connections.
      reading_ = false;
      flush();
      if (!is_current(generation)) return;
      return asio::post(io_.get_executor(), [this, generation] {
        if (is_current(generation)) on_readable();
      });
    }
    auto space = reader_.prepare(read_chunk());
    error_code ec;
    size_t size = socket_.read_some(asio::buffer(space.data(), space.size()), ec);
    if (would_block(ec)) break;
    if (ec) return fail(ec, false);
    // Everything one read brings was received at the same moment.
    received_us_ = epoch_us();
    if (!handle_read(size)) return;
    // A short read emptied the socket: new data will make it readable again.
    if (size < space.size()) break;
  }
  reading_ = false;
  flush();
  if (is_current(generation)) wait_readable();
}

bool Connection::handle_read(size_t size) {
  switch (reader_.commit(size, *this)) {
    case MessageReader::Status::Ok:
      return true;
    case MessageReader::Status::Stopped:
      return false;
    case MessageReader::Status::Closed:
      fail(beast::websocket::error::closed, false);
      return false;
    case MessageReader::Status::Invalid:
      fail(beast::websocket::error::bad_data_frame, false);
      return false;
    case MessageReader::Status::TooBig:
      fail(beast::websocket::error::message_too_big, false);
      return false;
  }
  return false;
}

bool Connection::on_message(std::string_view data, bool /*binary*/) {
  auto generation = generation_;
  events_.on_ws_message(data, received_us_);
  return is_current(generation);
}

bool Connection::on_ping(std::string_view payload) {
  queue_frame(Opcode::Pong, payload);
  return true;
}

void Connection::on_close(std::string_view payload) {
  // Answer with the server's status code (or 1000, normal), as the closing handshake asks.
  static constexpr char kNormal[] = {'\x03', '\xe8'};
  queue_frame(Opcode::Close, payload.size() >= 2 ? payload.substr(0, 2) : std::string_view(kNormal, 2));
  flush();
}

void Connection::send_text(std::string_view text) {
  queue_frame(Opcode::Text, text);
  if (open_ && !reading_) flush();
}

void Connection::queue_frame(Opcode opcode, std::string_view payload) {
  append_frame(outbox_, opcode, payload, static_cast<uint32_t>(random_()));
}

void Connection::flush() {
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
                    [this, generation = generation_](const error_code& write_ec, size_t) {
                      if (!is_current(generation)) return;
                      writing_ = false;
                      if (write_ec) return fail(write_ec, false);
                      flush();
                    });
}

void Connection::close() { shut(); }

void Connection::abort() {
  error_code ignored;
  const asio::socket_base::linger reset_on_close(true, 0);
  if (upgrade_ && upgrade_->stream.socket().is_open()) upgrade_->stream.socket().set_option(reset_on_close, ignored);
  if (socket_.is_open()) socket_.set_option(reset_on_close, ignored);
  shut();
}

void Connection::fail(const error_code& ec, bool connecting) {
  shut();
  events_.on_ws_error(ec, connecting);
}

// Handlers still pending complete with operation_aborted and find their generation stale.
void Connection::shut() {
  ++generation_;
  error_code ignored;
  if (upgrade_) upgrade_->stream.socket().close(ignored);
  socket_.close(ignored);
  open_ = reading_ = writing_ = false;
  outbox_.clear();
  sending_.clear();
}

}  // namespace herald::bench::ws
