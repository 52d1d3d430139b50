#include "connect/websocket_client.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/websocket/error.hpp>

#include "common/net.hpp"

namespace herald::bench {
namespace {

constexpr std::chrono::seconds kHandshakeTimeout{10};

ErrorKind classify(const beast::error_code& ec, bool connecting) {
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

}  // namespace

void WebSocketClient::open_transport() {
  ws_.emplace(context_.io.get_executor());
  buffer_.clear();
  outbox_.clear();
  writing_ = false;

  auto& socket = beast::get_lowest_layer(*ws_).socket();
  beast::error_code bind_ec;
  bind_local_address(socket, local_address(), bind_ec);
  if (bind_ec) return fail(bind_ec, true);

  auto generation = this->generation();
  beast::get_lowest_layer(*ws_).expires_after(kHandshakeTimeout);
  beast::get_lowest_layer(*ws_).async_connect(context_.server, [this, generation](const beast::error_code& ec) {
    if (!is_current(generation)) return;
    if (ec) return fail(ec, true);
    beast::error_code ignored;
    beast::get_lowest_layer(*ws_).socket().set_option(tcp::no_delay(true), ignored);
    // The websocket stream keeps its own timeouts from here on.
    beast::get_lowest_layer(*ws_).expires_never();
    ws_->set_option(websocket::stream_base::timeout{kHandshakeTimeout, websocket::stream_base::none(), false});
    ws_->secure_prng(false);  // masks need no cryptographic randomness here
    ws_->text(true);
    std::string target = context_.socketio_path + "?EIO=4&transport=websocket";
    ws_->async_handshake(context_.host_header, target, [this, generation](const beast::error_code& handshake_ec) {
      if (!is_current(generation)) return;
      if (handshake_ec) return fail(handshake_ec, true);
      read();
      write_next();
    });
  });
}

void WebSocketClient::read() {
  ws_->async_read(buffer_, [this, generation = generation()](const beast::error_code& ec, size_t) {
    if (!is_current(generation)) return;
    if (ec) return fail(ec, false);
    std::string_view frame(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    on_packet(frame);
    if (!is_current(generation)) return;  // the packet ended this connection
    buffer_.consume(buffer_.size());
    read();
  });
}

void WebSocketClient::send_packet(std::string_view packet) {
  outbox_.push(packet);
  if (ws_ && ws_->is_open()) write_next();
}

void WebSocketClient::write_next() {
  if (writing_ || outbox_.empty()) return;
  writing_ = true;
  ws_->async_write(asio::buffer(outbox_.front()),
                   [this, generation = generation()](const beast::error_code& ec, size_t) {
                     if (!is_current(generation)) return;
                     writing_ = false;
                     if (ec) return fail(ec, false);
                     outbox_.pop();
                     write_next();
                   });
}

void WebSocketClient::close_transport() {
  if (!ws_) return;
  beast::error_code ignored;
  beast::get_lowest_layer(*ws_).socket().close(ignored);
  outbox_.clear();
  writing_ = false;
}

void WebSocketClient::fail(const beast::error_code& ec, bool connecting) { on_failure(classify(ec, connecting)); }

}  // namespace herald::bench
