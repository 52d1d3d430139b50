// One client WebSocket connection as the load tools drive it: TCP connect, the opening handshake
// (Beast reads the answer), then text frames both ways without permessage-deflate. After the
// handshake it waits for readability, reads what the socket holds into a chunk shared by every
// connection of the thread, handles every frame those reads brought, and writes everything they
// called for (pongs, and whatever the owner sent meanwhile) in one write. It can end the TCP
// connection gracefully or abort it with a reset, like a network drop.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include "ws/message_reader.hpp"

namespace herald::bench::ws {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// What the owner of a Connection hears. Calls come from the connection's io_context only.
class ConnectionEvents {
 public:
  // A whole message (text or binary). `received_us` (epoch microseconds) is when the read that
  // brought it returned. The owner may send, close or reopen from inside the call.
  virtual void on_ws_message(std::string_view data, int64_t received_us) = 0;
  // The connection failed and is closed; `connecting` when it had not finished its opening
  // handshake. Not called for close() or abort().
  virtual void on_ws_error(const boost::system::error_code& ec, bool connecting) = 0;

 protected:
  ~ConnectionEvents() = default;
};

class Connection final : private MessageSink {
 public:
  Connection(asio::io_context& io, ConnectionEvents& events, std::minstd_rand& random);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects to `server` from `local` (unspecified: any), then asks `host` to upgrade `target`.
  // A connection still open is closed first.
  void open(const tcp::endpoint& server, const asio::ip::address& local, std::string_view host,
            std::string_view target);
  // Sends one text message; queued until the handshake is done.
  void send_text(std::string_view text);
  // Closes the socket (the kernel ends the TCP connection; no WebSocket closing handshake).
  void close();
  // Resets the TCP connection (SO_LINGER 0, then close): the peer sees a reset, as when the
  // network drops, and nothing still queued is delivered.
  void abort();

 private:
  // The loop's own executor type: no polymorphic executor to copy on every operation.
  using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
  struct Upgrade;  // what only the opening handshake needs

  bool is_current(uint64_t generation) const { return generation == generation_; }
  void upgrade(uint64_t generation);
  void on_upgraded();
  void wait_readable();
  void on_readable();
  // Parses `size` bytes read into the span the reader prepared; false once the connection ended.
  bool handle_read(size_t size);
  bool on_message(std::string_view data, bool binary) override;
  bool on_ping(std::string_view payload) override;
  void on_close(std::string_view payload) override;
  void queue_frame(Opcode opcode, std::string_view payload);
  void flush();
  void fail(const boost::system::error_code& ec, bool connecting);
  void shut();

  asio::io_context& io_;
  ConnectionEvents& events_;
  std::minstd_rand& random_;  // frame masks and handshake keys
  Socket socket_;
  std::unique_ptr<Upgrade> upgrade_;
  MessageReader reader_;
  std::string outbox_;   // frames queued since the last write
  std::string sending_;  // what the write in flight still has to send
  // Handlers tag themselves with the generation they started under and ignore their completion
  // when the connection has since been closed or reopened.
  uint64_t generation_ = 0;
  int64_t received_us_ = 0;  // when the bytes being handled were read
  bool open_ = false;        // upgraded and not failed since
  bool reading_ = false;     // handling a read: frames queued now go out when it is done
  bool writing_ = false;     // an asynchronous write is in flight
};

}  // namespace herald::bench::ws
