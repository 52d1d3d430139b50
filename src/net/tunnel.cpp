#include "net/tunnel.hpp"

#include <spdlog/spdlog.h>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <memory>

namespace herald::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Tunnel : public std::enable_shared_from_this<Tunnel> {
 public:
  Tunnel(tcp::socket client, std::string first_bytes)
      : client_(std::move(client)), upstream_(client_.get_executor()), first_bytes_(std::move(first_bytes)) {}

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
  using Buffer = std::array<char, 16 * 1024>;

  void pump(tcp::socket& from, tcp::socket& to, Buffer& buffer) {
    from.async_read_some(asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer](
                                                   const boost::system::error_code& ec, size_t n) {
      if (ec) {
        // One side finished: pass the end on, and close when both have.
        boost::system::error_code ignored;
        to.shutdown(tcp::socket::shutdown_send, ignored);
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

  void fail(const std::string& why) {
    spdlog::warn("tunnel: {}", why);
    static const std::string kReply =
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
        std::to_string(kOwnerUnreachableBody.size()) + "\r\n\r\n" + std::string(kOwnerUnreachableBody);
    asio::async_write(client_, asio::buffer(kReply),
                      [self = shared_from_this()](const boost::system::error_code&, size_t) { self->close(); });
  }

  void close() {
    boost::system::error_code ignored;
    client_.close(ignored);
    upstream_.close(ignored);
  }

  tcp::socket client_;
  tcp::socket upstream_;
  std::string first_bytes_;
  Buffer to_upstream_{};
  Buffer to_client_{};
  int finished_ = 0;
};

}  // namespace

void start_tunnel(tcp::socket client, std::string first_bytes, const std::string& host, uint16_t port) {
  std::make_shared<Tunnel>(std::move(client), std::move(first_bytes))->start(host, port);
}

}  // namespace herald::net
