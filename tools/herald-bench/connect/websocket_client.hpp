// A client whose Engine.IO session runs over a WebSocket from the start (transport=websocket):
// one text frame per packet, no permessage-deflate.
#pragma once

#include <optional>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "connect/client.hpp"
#include "connect/frame_queue.hpp"

namespace herald::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

class WebSocketClient final : public Client {
 public:
  using Client::Client;

 private:
  void open_transport() override;
  void send_packet(std::string_view packet) override;
  void close_transport() override;

  void read();
  void write_next();
  void fail(const beast::error_code& ec, bool connecting);

  std::optional<websocket::stream<beast::tcp_stream>> ws_;  // a new stream per connection
  beast::flat_buffer buffer_;
  FrameQueue outbox_;
  bool writing_ = false;
};

}  // namespace herald::bench
