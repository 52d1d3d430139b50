// A client's connection as an Asio stream, plain or under TLS, for Beast's HTTP reads and writes
// and for the tunnel to another process. TLS runs on the descriptor (net/tls.hpp): an operation is
// tried first and waits for readiness only when OpenSSL asks, so bytes OpenSSL already holds are
// never left waiting for a readiness that will not come. One deadline covers whatever operations
// are pending (Beast's tcp_stream has one per direction; the connection needs only one).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <utility>

#include "net/tls.hpp"

namespace herald::net {

namespace asio = boost::asio;

enum class HandshakeOutcome : uint8_t { Done, PlainHttp, Failed };

class ClientStream {
 public:
  using tcp = asio::ip::tcp;
  using executor_type = tcp::socket::executor_type;
  using ErrorCode = boost::system::error_code;

  // `tls`: the session on the socket's descriptor, or nullptr for plain TCP.
  ClientStream(tcp::socket socket, std::unique_ptr<TlsSession> tls);
  ~ClientStream();
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  tcp::socket& socket() { return socket_; }
  TlsSession* tls() const { return tls_.get(); }

  // Operations pending or started before the deadline end with beast::error::timeout.
  void expires_after(std::chrono::steady_clock::duration duration);
  void expires_never();

  // TLS only: the server handshake. A first byte that is not a TLS handshake record (a plain HTTP
  // request on the TLS port) ends it with PlainHttp, having read nothing.
  void async_handshake(std::function<void(HandshakeOutcome)> then);

  // What a readable connection that was expected to send nothing (a long-poll waits) means.
  enum class Readable : uint8_t { Gone, SentData, Nothing };
  Readable peer_state();

  template <class Buffers, class Handler>
  auto async_read_some(const Buffers& buffers, Handler&& handler) {
    return asio::async_initiate<Handler, void(ErrorCode, size_t)>(
        [this](auto done, const Buffers& sequence) {
          if (!tls_) return socket_.async_read_some(sequence, guard(std::move(done)));
          tls_read(first_buffer<asio::mutable_buffer>(sequence), std::move(done));
        },
        handler, buffers);
  }

  template <class Buffers, class Handler>
  auto async_write_some(const Buffers& buffers, Handler&& handler) {
    return asio::async_initiate<Handler, void(ErrorCode, size_t)>(
        [this](auto done, const Buffers& sequence) {
          if (!tls_) return socket_.async_write_some(sequence, guard(std::move(done)));
          tls_write(sequence, std::move(done));
        },
        handler, buffers);
  }

  // Hands the socket and its TLS session on (to a WebSocket, another loop or a tunnel).
  tcp::socket release_socket();
  std::unique_ptr<TlsSession> release_tls() { return std::move(tls_); }
  void close();

 private:
  template <class Buffer, class Sequence>
  static Buffer first_buffer(const Sequence& sequence) {
    for (auto it = asio::buffer_sequence_begin(sequence); it != asio::buffer_sequence_end(sequence); ++it)
      if (Buffer buffer(*it); buffer.size() > 0) return buffer;
    return Buffer();
  }

  // TLS writes go out as one record when the pieces (a response's header and body) fit in one: the
  // pieces are copied into a per-thread buffer, on every attempt (a retry must offer the same bytes,
  // and another connection may have used the buffer meanwhile).
  template <class Sequence>
  static asio::const_buffer gathered(const Sequence& sequence) {
    auto begin = asio::buffer_sequence_begin(sequence);
    auto end = asio::buffer_sequence_end(sequence);
    if (begin == end || std::next(begin) == end) return first_buffer<asio::const_buffer>(sequence);
    asio::mutable_buffer out = gather_buffer();
    return asio::const_buffer(out.data(), asio::buffer_copy(out, sequence));
  }
  static asio::mutable_buffer gather_buffer();

  template <class Handler>
  auto guard(Handler done) {
    return [this, done = std::move(done)](ErrorCode ec, size_t n) mutable { done(reported(ec), n); };
  }

  template <class Handler>
  void tls_read(asio::mutable_buffer buffer, Handler done) {
    run_tls([this, buffer] { return tls_->read(static_cast<char*>(buffer.data()), buffer.size()); }, buffer.size() == 0,
            std::move(done));
  }

  template <class Sequence, class Handler>
  void tls_write(const Sequence& sequence, Handler done) {
    run_tls(
        [this, sequence] {
          asio::const_buffer buffer = gathered(sequence);
          return tls_->write(static_cast<const char*>(buffer.data()), buffer.size());
        },
        asio::buffer_size(sequence) == 0, std::move(done));
  }

  // Tries `attempt`; on WantRead/WantWrite waits for the socket and tries again.
  template <class Attempt, class Handler>
  void run_tls(Attempt attempt, bool empty, Handler done) {
    if (timed_out()) return post(std::move(done), timeout_error(), 0);
    if (empty) return post(std::move(done), ErrorCode(), 0);
    TlsResult result = attempt();
    switch (result.status) {
      case TlsStatus::Done:
        return post(std::move(done), ErrorCode(), result.bytes);
      case TlsStatus::WantRead:
      case TlsStatus::WantWrite:
        socket_.async_wait(result.status == TlsStatus::WantRead ? tcp::socket::wait_read : tcp::socket::wait_write,
                           [this, attempt, empty, done = std::move(done)](ErrorCode ec) mutable {
                             if (ec) return done(reported(ec), 0);
                             run_tls(attempt, empty, std::move(done));
                           });
        return;
      case TlsStatus::Closed:
        return post(std::move(done), asio::error::eof, 0);
      case TlsStatus::Failed:
        return post(std::move(done), asio::error::connection_reset, 0);
    }
  }

  template <class Handler>
  void post(Handler done, ErrorCode ec, size_t n) {
    asio::post(socket_.get_executor(), [done = std::move(done), ec, n]() mutable { done(ec, n); });
  }

  bool timed_out() const { return deadline_ && deadline_->timed_out; }
  ErrorCode reported(ErrorCode ec) const {
    return timed_out() && ec == asio::error::operation_aborted ? timeout_error() : ec;
  }
  static ErrorCode timeout_error();
  void continue_handshake(std::function<void(HandshakeOutcome)> then);

  // Shared with the timer's handler, which may run after the stream is gone.
  struct Deadline {
    explicit Deadline(const executor_type& executor) : timer(executor) {}
    asio::steady_timer timer;
    tcp::socket* socket = nullptr;  // null once the stream is gone or gave its socket away
    uint32_t generation = 0;        // a handler of an earlier deadline does nothing
    bool timed_out = false;
  };

  tcp::socket socket_;
  std::unique_ptr<TlsSession> tls_;
  std::shared_ptr<Deadline> deadline_;  // made on first use
};

}  // namespace herald::net
