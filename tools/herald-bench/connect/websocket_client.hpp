// A client whose Engine.IO session runs over a WebSocket from the start (transport=websocket):
// one text frame per packet over a ws::Connection, which reads and writes in batches.
#pragma once

#include <string_view>

#include <boost/system/error_code.hpp>

#include "connect/client.hpp"
#include "connect/stats.hpp"
#include "ws/connection.hpp"

namespace herald::bench {

// Which ErrorKind a WebSocket connection's failure counts as.
ErrorKind classify_websocket_error(const boost::system::error_code& ec, bool connecting);

class WebSocketClient final : public Client, private ws::ConnectionEvents {
 public:
  WebSocketClient(ClientContext& context, uint64_t index);

 private:
  void open_transport() override;
  void send_packet(std::string_view packet) override;
  void close_transport() override;

  void on_ws_message(std::string_view data, int64_t received_us) override;
  void on_ws_error(const boost::system::error_code& ec, bool connecting) override;

  ws::Connection connection_;
};

}  // namespace herald::bench
