#include "net/client_stream.hpp"

#include <sys/socket.h>

#include <array>
#include <boost/beast/core/error.hpp>
#include <cerrno>

namespace herald::net {
namespace {

// As large as a TLS record's payload: a response's header and a small body leave in one record.
constexpr size_t kGatherSize = size_t{16} * 1024;

}  // namespace

ClientStream::ClientStream(tcp::socket socket, std::unique_ptr<TlsSession> tls)
    : socket_(std::move(socket)), tls_(std::move(tls)) {
  // OpenSSL reads and writes the descriptor itself: it must never block the loop.
  ErrorCode ignored;
  if (tls_) socket_.non_blocking(true, ignored);
}

ClientStream::~ClientStream() {
  try {
    expires_never();
  } catch (const boost::system::system_error&) {
    // The timer could not be cancelled: its handler finds no socket and does nothing.
  }
}

asio::mutable_buffer ClientStream::gather_buffer() {
  thread_local std::array<char, kGatherSize> buffer;
  return asio::buffer(buffer);
}

ClientStream::ErrorCode ClientStream::timeout_error() { return boost::beast::error::timeout; }

void ClientStream::expires_after(std::chrono::steady_clock::duration duration) {
  if (!deadline_) deadline_ = std::make_shared<Deadline>(socket_.get_executor());
  deadline_->socket = &socket_;
  deadline_->timed_out = false;
  uint32_t generation = ++deadline_->generation;
  deadline_->timer.expires_after(duration);
  deadline_->timer.async_wait([deadline = deadline_, generation](const ErrorCode& ec) {
    if (ec || deadline->generation != generation || !deadline->socket) return;
    deadline->timed_out = true;
    ErrorCode ignored;
    deadline->socket->cancel(ignored);
  });
}

void ClientStream::expires_never() {
  if (!deadline_) return;
  ++deadline_->generation;
  deadline_->socket = nullptr;
  deadline_->timed_out = false;
  deadline_->timer.cancel();
}

void ClientStream::async_handshake(std::function<void(HandshakeOutcome)> then) {
  socket_.async_wait(tcp::socket::wait_read, [this, then = std::move(then)](const ErrorCode& ec) mutable {
    if (ec) return then(HandshakeOutcome::Failed);
    // Peeked, not read: OpenSSL reads the record itself.
    unsigned char first = 0;
    ssize_t n = ::recv(socket_.native_handle(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return async_handshake(std::move(then));
    if (n <= 0) return then(HandshakeOutcome::Failed);
    if (first != kTlsHandshakeRecord) return then(HandshakeOutcome::PlainHttp);
    continue_handshake(std::move(then));
  });
}

void ClientStream::continue_handshake(std::function<void(HandshakeOutcome)> then) {
  TlsResult result = tls_->handshake();
  if (result.status == TlsStatus::Done) return then(HandshakeOutcome::Done);
  if (result.status != TlsStatus::WantRead && result.status != TlsStatus::WantWrite)
    return then(HandshakeOutcome::Failed);
  auto wait = result.status == TlsStatus::WantRead ? tcp::socket::wait_read : tcp::socket::wait_write;
  socket_.async_wait(wait, [this, then = std::move(then)](const ErrorCode& ec) mutable {
    if (ec) return then(HandshakeOutcome::Failed);
    continue_handshake(std::move(then));
  });
}

ClientStream::Readable ClientStream::peer_state() {
  if (tls_) {
    switch (tls_->peek()) {
      case TlsStatus::Done:
        return Readable::SentData;
      case TlsStatus::WantRead:
      case TlsStatus::WantWrite:
        return Readable::Nothing;
      case TlsStatus::Closed:
      case TlsStatus::Failed:
        return Readable::Gone;
    }
  }
  char byte;
  ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return Readable::SentData;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return Readable::Nothing;
  return Readable::Gone;
}

ClientStream::tcp::socket ClientStream::release_socket() {
  expires_never();
  return std::move(socket_);
}

void ClientStream::close() {
  expires_never();
  if (tls_) tls_->close_notify();
  ErrorCode ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace herald::net
