// A client whose Engine.IO session runs over a WebSocket from the start (transport=websocket):
// one text frame per packet, no permessage-deflate. Beast carries the opening handshake only.
// After it the client waits for readability, reads what the socket holds into its worker's
// shared chunk, handles every frame those reads brought, and writes everything they called for
// (acks, pongs) in one write.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/basic_stream_socket.hpp>

#include "connect/client.hpp"
#include "ws/message_reader.hpp"

namespace herald::bench {

class WebSocketClient final : public Client, private ws::MessageSink {
 public:
  WebSocketClient(ClientContext& context, uint64_t index);
  ~WebSocketClient() override;

 private:
  // The loop's own executor type: no polymorphic executor to copy on every operation.
  using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
  struct Upgrade;  // what only the opening handshake needs

  void open_transport() override;
  void send_packet(std::string_view packet) override;
  void close_transport() override;

  void upgrade(uint64_t generation);
  void on_upgraded();
  void wait_readable();
  void on_readable();
  // Parses `size` bytes read into the span the reader prepared; false once the connection ended.
  bool handle_read(size_t size);
  bool on_message(std::string_view data, bool binary) override;
  bool on_ping(std::string_view payload) override;
  void on_close(std::string_view payload) override;
  void queue_frame(ws::Opcode opcode, std::string_view payload);
  void flush();
  void fail(const boost::system::error_code& ec, bool connecting);

  Socket socket_;
  std::unique_ptr<Upgrade> upgrade_;
  ws::MessageReader reader_;
  std::string outbox_;    // frames queued since the last write
  std::string sending_;   // what the write in flight still has to send
  bool open_ = false;     // upgraded and not failed since
  bool reading_ = false;  // handling a read: frames queued now go out when it is done
  bool writing_ = false;  // an asynchronous write is in flight
};

}  // namespace herald::bench
