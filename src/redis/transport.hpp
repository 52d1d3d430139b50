// The socket of one Redis connection attempt: TCP, or TLS over it for rediss://, with the read
// buffer and the bytes of the write in flight. The handlers of its operations hold it
// (shared_ptr), so it outlives them even when the Connection is gone; every attempt gets a new one.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

namespace herald::redis {

class Transport {
 public:
  using tcp = boost::asio::ip::tcp;
  using TlsStream = boost::asio::ssl::stream<tcp::socket&>;
  static constexpr size_t kReadChunk = 16 * 1024;

  // `tls`: null for plain TCP.
  Transport(boost::asio::io_context& loop, boost::asio::ssl::context* tls) : socket_(loop) {
    if (tls != nullptr) tls_.emplace(socket_, *tls);
  }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  tcp::socket& socket() { return socket_; }
  TlsStream* tls() { return tls_ ? &*tls_ : nullptr; }

  // Reads what is available into read_buffer: handler(error_code, size_t).
  template <class Handler>
  void read(Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(boost::asio::buffer(read_buffer), std::forward<Handler>(handler));
    } else {
      socket_.async_read_some(boost::asio::buffer(read_buffer), std::forward<Handler>(handler));
    }
  }

  // Writes all of write_buffer: handler(error_code, size_t).
  template <class Handler>
  void write(Handler&& handler) {
    if (tls_) {
      boost::asio::async_write(*tls_, boost::asio::buffer(write_buffer), std::forward<Handler>(handler));
    } else {
      boost::asio::async_write(socket_, boost::asio::buffer(write_buffer), std::forward<Handler>(handler));
    }
  }

  // Abrupt close (no TLS close_notify): pending operations complete with operation_aborted.
  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  std::array<char, kReadChunk> read_buffer{};
  std::string write_buffer;  // the bytes of the write in flight
  bool writing = false;

 private:
  tcp::socket socket_;
  std::optional<TlsStream> tls_;  // declared after socket_: destroyed first
};

}  // namespace herald::redis
