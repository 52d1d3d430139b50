// TLS on the client port, by OpenSSL. A session runs on the connection's own descriptor (OpenSSL's
// socket BIO, non-blocking): the connection waits for readiness as a plain one does and OpenSSL
// reads and writes the socket itself, so no memory BIO or extra copy sits between them. With
// SSL_MODE_RELEASE_BUFFERS OpenSSL frees its record buffers whenever they are empty, so an idle TLS
// connection keeps its keys and state but no buffers (see docs/benchmark.md for the figure).
#pragma once

#include <openssl/types.h>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include <string>

namespace herald::net {

enum class TlsStatus : uint8_t {
  Done,       // the operation completed (`bytes` moved, for reads and writes)
  WantRead,   // wait for readability, then call again
  WantWrite,  // wait for writability, then call again (with the same bytes, for a write)
  Closed,     // the peer ended the connection (close_notify or end of stream)
  Failed,     // a protocol or socket error: drop the connection
};

struct TlsResult {
  TlsStatus status;
  size_t bytes = 0;
};

// One connection's TLS state on its descriptor. The descriptor must stay open (and keep its number)
// as long as the session is used; a connection that moves to another loop keeps both.
class TlsSession {
 public:
  explicit TlsSession(SSL* ssl) : ssl_(ssl) {}
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  TlsResult handshake();
  TlsResult read(char* out, size_t size);
  // A write that returned WantWrite must be repeated with at least the same bytes first (they may
  // move in memory). Returns after each record written, so `bytes` may be less than `size`.
  TlsResult write(const char* data, size_t size);
  // Without consuming application data: Done when some waits, WantRead when nothing does yet,
  // Closed or Failed when the peer is gone.
  TlsStatus peek();
  // Sends close_notify if the socket takes it now (best effort; the connection closes anyway).
  void close_notify();
  // The protocol version and cipher, for logs.
  std::string describe() const;

 private:
  TlsResult result(int ok, size_t bytes);

  SSL* ssl_;
};

// The certificate and key the port serves, reloadable while connections use the previous ones
// (each session holds a reference to the context it started with).
class TlsContext {
 public:
  // Throws std::invalid_argument naming the file and OpenSSL's reason.
  TlsContext(std::string cert_file, std::string key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Reads the files again. New connections get the new certificate; on an error the old one stays
  // and the error is returned.
  std::optional<std::string> reload();
  // A server session on `fd`; nullptr if OpenSSL cannot make one (out of memory).
  std::unique_ptr<TlsSession> new_session(int fd) const;
  // The served certificate's subject and expiry, for logs.
  std::string describe() const;

 private:
  std::string cert_file_;
  std::string key_file_;
  mutable std::mutex mutex_;
  SSL_CTX* context_ = nullptr;
};

// The first byte of a TLS connection is a handshake record (22); a plain HTTP request starts with
// a method's letter.
inline constexpr uint8_t kTlsHandshakeRecord = 0x16;

}  // namespace herald::net
