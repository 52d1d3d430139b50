#include "net/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <stdexcept>
#include <utility>

namespace herald::net {
namespace {

// The reason of the last OpenSSL error on this thread, emptying its queue.
std::string openssl_reason() {
  std::string reason;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!reason.empty()) reason += "; ";
    reason += text;
  }
  return reason.empty() ? "unknown error" : reason;
}

SSL_CTX* make_context(const std::string& cert_file, const std::string& key_file) {
  ERR_clear_error();
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  if (!context) throw std::invalid_argument("tls: cannot create a context: " + openssl_reason());
  auto fail = [context](const std::string& what) {
    std::string reason = openssl_reason();
    SSL_CTX_free(context);
    throw std::invalid_argument(what + ": " + reason);
  };
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  // Partial writes: a write returns after each record, so a full socket keeps at most one record
  // inside OpenSSL; the caller's queue (which may move) keeps the rest. Released buffers: an idle
  // connection holds no record buffers.
  SSL_CTX_set_mode(context,
                   SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  // No renegotiation (a write never has to read), an end of stream without close_notify is an end
  // like any other (browsers and load balancers often skip it), the server's cipher order.
  SSL_CTX_set_options(context,
                      SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Resumption by stateless tickets only: no session cache that grows with the clients.
  SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_use_certificate_chain_file(context, cert_file.c_str()) != 1) fail("tls_cert: cannot load " + cert_file);
  if (SSL_CTX_use_PrivateKey_file(context, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    fail("tls_key: cannot load " + key_file);
  if (SSL_CTX_check_private_key(context) != 1) fail("tls_key: " + key_file + " does not match " + cert_file);
  return context;
}

}  // namespace

// ---- TlsSession ----

TlsSession::~TlsSession() { SSL_free(ssl_); }

TlsResult TlsSession::result(int ok, size_t bytes) {
  if (ok > 0) return TlsResult{TlsStatus::Done, bytes};
  int error = SSL_get_error(ssl_, ok);
  switch (error) {
    case SSL_ERROR_WANT_READ:
      return TlsResult{TlsStatus::WantRead};
    case SSL_ERROR_WANT_WRITE:
      return TlsResult{TlsStatus::WantWrite};
    case SSL_ERROR_ZERO_RETURN:
      return TlsResult{TlsStatus::Closed};
    case SSL_ERROR_SYSCALL:
      if (errno == EINTR) return TlsResult{TlsStatus::WantRead};
      ERR_clear_error();
      return TlsResult{errno == 0 ? TlsStatus::Closed : TlsStatus::Failed};
    default:
      ERR_clear_error();
      return TlsResult{TlsStatus::Failed};
  }
}

// Each call starts with an empty error queue: SSL_get_error reads the thread's queue, which other
// connections of the loop share.
TlsResult TlsSession::handshake() {
  ERR_clear_error();
  errno = 0;
  return result(SSL_do_handshake(ssl_), 0);
}

TlsResult TlsSession::read(char* out, size_t size) {
  ERR_clear_error();
  errno = 0;
  size_t n = 0;
  int ok = SSL_read_ex(ssl_, out, size, &n);  // before `n` is read
  return result(ok, n);
}

TlsResult TlsSession::write(const char* data, size_t size) {
  ERR_clear_error();
  errno = 0;
  size_t n = 0;
  int ok = SSL_write_ex(ssl_, data, size, &n);
  return result(ok, n);
}

TlsStatus TlsSession::peek() {
  ERR_clear_error();
  errno = 0;
  char byte;
  size_t n = 0;
  int ok = SSL_peek_ex(ssl_, &byte, 1, &n);
  return result(ok, n).status;
}

void TlsSession::close_notify() {
  if (!SSL_is_init_finished(ssl_)) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string TlsSession::describe() const {
  return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
}

// ---- TlsContext ----

TlsContext::TlsContext(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {
  context_ = make_context(cert_file_, key_file_);
}

TlsContext::~TlsContext() { SSL_CTX_free(context_); }

std::optional<std::string> TlsContext::reload() {
  SSL_CTX* fresh = nullptr;
  try {
    fresh = make_context(cert_file_, key_file_);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  SSL_CTX* old = nullptr;
  {
    std::lock_guard lock(mutex_);
    old = std::exchange(context_, fresh);
  }
  SSL_CTX_free(old);  // sessions made from it hold their own references
  return std::nullopt;
}

std::unique_ptr<TlsSession> TlsContext::new_session(int fd) const {
  SSL* ssl = nullptr;
  {
    std::lock_guard lock(mutex_);
    ssl = SSL_new(context_);
  }
  if (!ssl) return nullptr;
  auto session = std::make_unique<TlsSession>(ssl);
  if (SSL_set_fd(ssl, fd) != 1) return nullptr;
  SSL_set_accept_state(ssl);
  return session;
}

std::string TlsContext::describe() const {
  std::lock_guard lock(mutex_);
  X509* cert = SSL_CTX_get0_certificate(context_);
  if (!cert) return "no certificate";
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
  std::string text = subject;
  if (BIO* out = BIO_new(BIO_s_mem())) {
    if (ASN1_TIME_print(out, X509_get0_notAfter(cert)) == 1) {
      char* data = nullptr;
      long size = BIO_get_mem_data(out, &data);
      text += ", valid until " + std::string(data, static_cast<size_t>(size));
    }
    BIO_free(out);
  }
  return text;
}

}  // namespace herald::net
