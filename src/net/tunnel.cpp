#include "net/tunnel.hpp"

#include <spdlog/spdlog.h>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "net/client_stream.hpp"

namespace herald::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Tunnel : public std::enable_shared_from_this<Tunnel> {
 public:
  Tunnel(tcp::socket client, std::unique_ptr<TlsSession> tls, std::string first_bytes, std::string unreachable_reply)
      : client_(std::move(client), std::move(tls)),
        upstream_(client_.get_executor()),
        first_bytes_(std::move(first_bytes)),
        unreachable_reply_(std::move(unreachable_reply)) {}

  void start(const std::string& host, uint16_t port) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) return fail("bad owner address " + host);
    upstream_.async_connect(
        tcp::endpoint(address, port), [self = shared_from_this(), host, port](const boost::system::error_code& error) {
          if (error) return self->fail("cannot reach " + host + ":" + std::to_string(port) + ": " + error.message());
          boost::system::error_code ignored;
          self->upstream_.set_option(tcp::no_delay(true), ignored);
          asio::async_write(self->upstream_, asio::buffer(self->first_bytes_),
                            [self](const boost::system::error_code& write_error, size_t) {
                              self->first_bytes_.clear();
                              self->first_bytes_.shrink_to_fit();
                              if (write_error) return self->close();
                              self->pump(self->client_, self->upstream_, self->to_upstream_);
                              self->pump(self->upstream_, self->client_, self->to_client_);
                            });
        });
  }

 private:
  using Buffer = std::array<char, size_t{16} * 1024>;

  template <class From, class To>
  void pump(From& from, To& to, Buffer& buffer) {
    from.async_read_some(asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer](
                                                   const boost::system::error_code& ec, size_t n) {
      if (ec) {
        // One side finished: pass the end on, and close when both have.
        shutdown_send(to);
        if (++self->finished_ == 2 || ec != asio::error::eof) self->close();
        return;
      }
      asio::async_write(to, asio::buffer(buffer.data(), n),
                        [self, &from, &to, &buffer](const boost::system::error_code& write_error, size_t) {
                          if (write_error) return self->close();
                          self->pump(from, to, buffer);
                        });
    });
  }

  static void shutdown_send(tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
  }
  static void shutdown_send(ClientStream& stream) {
    if (auto* tls = stream.tls()) tls->close_notify();
    shutdown_send(stream.socket());
  }

  void fail(const std::string& why) {
    spdlog::warn("tunnel: {}", why);
    asio::async_write(client_, asio::buffer(unreachable_reply_),
                      [self = shared_from_this()](const boost::system::error_code&, size_t) { self->close(); });
  }

  void close() {
    boost::system::error_code ignored;
    client_.close();
    upstream_.close(ignored);
  }

  ClientStream client_;
  tcp::socket upstream_;
  std::string first_bytes_;
  std::string unreachable_reply_;
  Buffer to_upstream_{};
  Buffer to_client_{};
  int finished_ = 0;
};

}  // namespace

void start_tunnel(tcp::socket client, std::unique_ptr<TlsSession> tls, std::string first_bytes, const std::string& host,
                  uint16_t port, std::string unreachable_reply) {
  std::make_shared<Tunnel>(std::move(client), std::move(tls), std::move(first_bytes), std::move(unreachable_reply))
      ->start(host, port);
}

}  // namespace herald::net
