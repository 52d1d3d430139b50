// Server frames gathered for one write: a header and a payload iovec per frame, the headers stored
// alongside, sent with one gather sendmsg. One per thread, reused by every write of its loop.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>

namespace herald::net {

class TlsSession;

// The opcode of raw bytes queued before any frame (the handshake response): sent without a header.
inline constexpr uint8_t kRawOpcode = 0xff;

// The header a server frame of `payload` bytes takes; raw bytes (the handshake response) have none.
size_t frame_header_size(uint8_t opcode, size_t payload);
inline size_t frame_size(uint8_t opcode, size_t payload) { return frame_header_size(opcode, payload) + payload; }

class FrameGather {
 public:
  static constexpr int kMaxIov = IOV_MAX;
  static constexpr size_t kMaxServerFrameHeader = 10;

  // The thread's instance, emptied.
  static FrameGather& for_thread();

  void reset() {
    iov_count_ = 0;
    frames_ = 0;
    bytes_ = 0;
  }
  bool full() const { return iov_count_ + 2 > kMaxIov; }
  size_t bytes() const { return bytes_; }

  // Adds one frame less its first `skip` bytes, which went out in an earlier write.
  void add(uint8_t opcode, const std::string& payload, size_t skip);
  // One non-blocking write: the bytes taken, 0 when the socket is full, -1 on error (errno set).
  ssize_t send(int fd);
  // The same through TLS: up to 64 KB of the frames, copied into one buffer, as few records as
  // fit. Fewer bytes than gathered (also when the socket could take more) mean: wait for
  // writability and write again from there, as OpenSSL wants the same bytes offered again.
  ssize_t send(TlsSession& tls);

 private:
  void push(const char* data, size_t size) {
    iov_[iov_count_++] = iovec{const_cast<char*>(data), size};
    bytes_ += size;
  }

  std::array<iovec, kMaxIov> iov_;
  std::array<std::array<char, kMaxServerFrameHeader>, kMaxIov> headers_;  // a frame takes one iovec or more
  int iov_count_ = 0;
  int frames_ = 0;
  size_t bytes_ = 0;
};

}  // namespace herald::net
