#include "common/http_connection.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "common/net.hpp"

namespace herald::bench {

HttpConnection::HttpConnection(asio::any_io_executor executor, tcp::endpoint server, asio::ip::address local)
    : stream_(std::move(executor)), server_(server), local_(local) {}

void HttpConnection::send(Request request, std::chrono::milliseconds timeout, Handler handler) {
  request_ = std::move(request);
  request_.keep_alive(true);
  request_.prepare_payload();
  timeout_ = timeout;
  handler_ = std::move(handler);
  retried_ = false;
  if (connected_) {
    reused_ = true;
    write();
  } else {
    connect();
  }
}

void HttpConnection::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
  connected_ = false;
}

void HttpConnection::connect() {
  reused_ = false;
  beast::error_code ec;
  if (!stream_.socket().is_open()) bind_local_address(stream_.socket(), local_, ec);
  if (ec) return finish(ec);
  stream_.expires_after(timeout_);
  stream_.async_connect(server_, [this](const beast::error_code& connect_ec) {
    if (connect_ec) return finish(connect_ec);
    connected_ = true;
    beast::error_code ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);
    write();
  });
}

void HttpConnection::write() {
  stream_.expires_after(timeout_);
  http::async_write(stream_, request_, [this](const beast::error_code& ec, size_t) {
    if (ec) {
      if (!retry_after(ec)) finish(ec);
      return;
    }
    response_ = {};
    http::async_read(stream_, buffer_, response_,
                     [this](const beast::error_code& read_ec, size_t) { on_read(read_ec); });
  });
}

void HttpConnection::on_read(const beast::error_code& ec) {
  if (ec) {
    if (!retry_after(ec)) finish(ec);
    return;
  }
  if (!response_.keep_alive()) close();
  finish({});
}

bool HttpConnection::retry_after(const beast::error_code& ec) {
  bool stale = ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
               ec == asio::error::broken_pipe;
  if (!reused_ || retried_ || !stale) return false;
  retried_ = true;
  close();
  buffer_.clear();
  connect();
  return true;
}

void HttpConnection::finish(const beast::error_code& ec) {
  if (ec) {
    close();
    buffer_.clear();
  }
  // The handler may send the next request from inside the call.
  Handler handler = std::move(handler_);
  handler_ = nullptr;
  handler(ec, response_);
}

}  // namespace herald::bench
