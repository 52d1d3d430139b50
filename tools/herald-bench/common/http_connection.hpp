// One keep-alive HTTP/1.1 client connection carrying one request at a time. It connects lazily
// and, when a reused connection turns out to have been closed by the server while idle, retries
// the request once on a fresh one (servers drop idle keep-alive connections after a few seconds).
#pragma once

#include <chrono>
#include <functional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace herald::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class HttpConnection {
 public:
  using Request = http::request<http::string_body>;
  using Response = http::response<http::string_body>;
  // Called once per request; `response` is valid only during the call.
  using Handler = std::function<void(const beast::error_code& ec, Response& response)>;

  HttpConnection(asio::any_io_executor executor, tcp::endpoint server, asio::ip::address local = {});

  // Sends `request` (keep-alive); `timeout` bounds connecting, writing and reading the response.
  void send(Request request, std::chrono::milliseconds timeout, Handler handler);
  // Drops the connection; a request in flight completes with operation_aborted.
  void close();
  bool busy() const { return static_cast<bool>(handler_); }

 private:
  void connect();
  void write();
  void on_read(const beast::error_code& ec);
  // True if the failure is a stale keep-alive connection and the request was sent again.
  bool retry_after(const beast::error_code& ec);
  void finish(const beast::error_code& ec);

  beast::tcp_stream stream_;
  tcp::endpoint server_;
  asio::ip::address local_;
  bool connected_ = false;
  bool reused_ = false;   // the request went out on a connection that had served one before
  bool retried_ = false;  // the request was already sent again once
  Request request_;
  Response response_;
  beast::flat_buffer buffer_;
  std::chrono::milliseconds timeout_{0};
  Handler handler_;
};

}  // namespace herald::bench
