// Turns the bytes a client reads from a WebSocket into messages. Reads go into a chunk shared by
// every connection of the thread, so an idle connection holds no read buffer: only the bytes of a
// frame cut off at the end of a read are kept here, and copied back in front of the next read.
// Messages split over several frames are reassembled; control frames go to the sink as they come.
// Text is not checked for valid UTF-8: the tool measures a server, it does not conform it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ws/frame.hpp"

namespace herald::bench::ws {

class MessageSink {
 public:
  // Each returns false when the connection ended meanwhile: the reader then stops at once.
  virtual bool on_message(std::string_view data, bool binary) = 0;
  virtual bool on_ping(std::string_view payload) = 0;
  // The server's close frame (status code and reason); nothing is read after it.
  virtual void on_close(std::string_view payload) = 0;

 protected:
  ~MessageSink() = default;
};

class MessageReader {
 public:
  enum class Status : uint8_t {
    Ok,       // everything read was handled or kept
    Stopped,  // the sink ended the connection
    Closed,   // the server sent a close frame
    Invalid,  // a frame or frame sequence a server may not send
    TooBig,   // a message longer than the limit
  };

  explicit MessageReader(uint64_t max_message = uint64_t{16} * 1024 * 1024) : max_message_(max_message) {}

  // Where the next read goes: `chunk` after a copy of the kept bytes or, while a frame too large
  // to be copied around arrives, the end of the reader's own buffer.
  std::span<char> prepare(std::span<char> chunk);
  // Handles the kept bytes and the `size` bytes just read into the span prepare() returned.
  Status commit(size_t size, MessageSink& sink);
  // Forgets everything (for a new connection).
  void reset();

 private:
  Status on_frame(const Frame& frame, MessageSink& sink);
  void keep(std::string_view rest);

  uint64_t max_message_;
  std::string tail_;  // holds the incomplete frame; only its first tail_size_ bytes are data
  size_t tail_size_ = 0;
  const char* base_ = nullptr;  // where prepare() put the kept bytes
  std::string message_;         // the frames so far of a fragmented message
  bool in_message_ = false;
  bool message_binary_ = false;
};

}  // namespace herald::bench::ws
