// A direct link between two Herald nodes: one TCP connection to the other node's internal port,
// turned by an HTTP Upgrade (`Upgrade: herald-direct`) into a stream of direct::Frame records
// both ways. Lives on one loop. What is sent during a loop turn goes out in one write at the end
// of the turn (and while a write is in flight, what comes meanwhile waits for the next one).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

#include "cluster/direct_codec.hpp"

namespace herald::cluster {

class DirectLink : public std::enable_shared_from_this<DirectLink> {
 public:
  using tcp = boost::asio::ip::tcp;
  // A frame from the other node; false stops the link (the frame broke the protocol).
  using OnFrame = std::function<bool(direct::Frame& frame)>;
  // Once: the link failed, the other node closed it, or close() was called.
  using OnClosed = std::function<void()>;

  // Unsent bytes after which the other node is taken for stuck and the link is closed.
  static constexpr size_t kMaxQueued = 64u << 20;

  DirectLink(boost::asio::io_context& loop, OnFrame on_frame, OnClosed on_closed);
  ~DirectLink();
  DirectLink(const DirectLink&) = delete;
  DirectLink& operator=(const DirectLink&) = delete;

  // The requesting end: connects to host:port and sends `upgrade_request` (the HTTP request that
  // asks for the link); frames sent meanwhile wait until the other node answered 101.
  void connect(const std::string& host, uint16_t port, const std::string& upgrade_request);
  // The receiving end, on a connection taken from the HTTP server: writes `greeting` (the 101
  // answer) first and reads `already_read` as the first bytes from the other node.
  void adopt(int fd, const std::string& greeting, std::string already_read);

  // Queues a frame; it goes out at the end of this loop turn. Ignored once closed.
  void send(const direct::Frame& frame);
  void close();
  bool closed() const { return state_ == State::Closed; }
  // The upgrade was answered: frames flow both ways.
  bool established() const { return state_ == State::Open; }

 private:
  enum class State : uint8_t { Connecting, AwaitingUpgrade, Open, Closed };
  void start_reading();
  void on_read(size_t bytes);
  // The requesting end, before 101: false while the answer's header is incomplete.
  bool read_upgrade_answer();
  bool dispatch_frames();
  void schedule_write();
  void write();
  void fail();

  tcp::socket socket_;
  OnFrame on_frame_;
  OnClosed on_closed_;
  State state_ = State::Connecting;
  std::string queued_;   // frames of this turn (and of the turns since the write in flight began)
  std::string writing_;  // the write in flight
  std::string input_;    // bytes read and not yet a whole frame
  std::string read_buffer_;
  bool writing_now_ = false;
  bool write_posted_ = false;
};

}  // namespace herald::cluster
