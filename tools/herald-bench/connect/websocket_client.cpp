#include "connect/websocket_client.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

namespace herald::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;

ErrorKind classify_websocket_error(const error_code& ec, bool connecting) {
  if (ec == asio::error::connection_refused) return ErrorKind::Refused;
  if (ec == beast::error::timeout || ec == asio::error::timed_out) return ErrorKind::Timeout;
  if (ec == websocket::error::closed || ec == asio::error::eof || ec == beast::http::error::end_of_stream ||
      ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
    return ErrorKind::Closed;
  // During the upgrade, HTTP and WebSocket errors mean the server declined or answered oddly.
  bool http_or_websocket = ec.category() == make_error_code(beast::http::error::bad_target).category() ||
                           ec.category() == make_error_code(websocket::error::closed).category();
  if (connecting && http_or_websocket) return ErrorKind::Handshake;
  return connecting ? ErrorKind::Connect : ErrorKind::Io;
}

WebSocketClient::WebSocketClient(ClientContext& context, uint64_t index)
    : Client(context, index), connection_(context.io, *this, context.random) {}

void WebSocketClient::open_transport() {
  connection_.open(context_.server, local_address(), context_.host_header,
                   context_.socketio_path + "?EIO=4&transport=websocket");
}

void WebSocketClient::send_packet(std::string_view packet) { connection_.send_text(packet); }

void WebSocketClient::close_transport() { connection_.close(); }

void WebSocketClient::on_ws_message(std::string_view data, int64_t received_us) {
  context_.received_us = received_us;
  on_packet(data);
}

void WebSocketClient::on_ws_error(const error_code& ec, bool connecting) {
  on_failure(classify_websocket_error(ec, connecting));
}

}  // namespace herald::bench
