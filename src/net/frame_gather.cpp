#include "net/frame_gather.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "net/tls.hpp"

namespace herald::net {
namespace {

// Server frames are never masked: FIN + opcode, then the length in 1, 3 or 9 bytes.
size_t encode_header(char* out, uint8_t opcode, size_t size) {
  size_t length = frame_header_size(opcode, size);
  if (length == 0) return 0;
  out[0] = static_cast<char>(0x80 | opcode);
  if (length == 2) {
    out[1] = static_cast<char>(size);
  } else if (length == 4) {
    out[1] = static_cast<char>(126);
    out[2] = static_cast<char>((size >> 8) & 0xff);
    out[3] = static_cast<char>(size & 0xff);
  } else {
    out[1] = static_cast<char>(127);
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<char>((size >> (56 - 8 * i)) & 0xff);
  }
  return length;
}

}  // namespace

size_t frame_header_size(uint8_t opcode, size_t payload) {
  if (opcode == kRawOpcode) return 0;
  return payload < 126 ? 2 : payload <= 0xffff ? 4 : 10;
}

FrameGather& FrameGather::for_thread() {
  thread_local FrameGather instance;
  instance.reset();
  return instance;
}

void FrameGather::add(uint8_t opcode, const std::string& payload, size_t skip) {
  char* header = headers_[frames_++].data();
  size_t size = encode_header(header, opcode, payload.size());
  if (skip < size) {
    push(header + skip, size - skip);
    skip = 0;
  } else {
    skip -= size;
  }
  if (skip < payload.size()) push(payload.data() + skip, payload.size() - skip);
}

ssize_t FrameGather::send(int fd) {
  msghdr message{};
  message.msg_iov = iov_.data();
  message.msg_iovlen = static_cast<size_t>(iov_count_);
  for (;;) {
    ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
  }
}

ssize_t FrameGather::send(TlsSession& tls) {
  constexpr size_t kChunk = size_t{64} * 1024;
  thread_local std::array<char, kChunk> chunk;
  size_t size = 0;
  for (int i = 0; i < iov_count_ && size < kChunk; ++i) {
    size_t n = std::min(iov_[i].iov_len, kChunk - size);
    std::memcpy(chunk.data() + size, iov_[i].iov_base, n);
    size += n;
  }
  size_t written = 0;
  while (written < size) {
    TlsResult result = tls.write(chunk.data() + written, size - written);
    if (result.status == TlsStatus::Done) {
      written += result.bytes;
      continue;
    }
    if (result.status == TlsStatus::WantRead || result.status == TlsStatus::WantWrite) break;
    errno = ECONNRESET;
    return -1;
  }
  return static_cast<ssize_t>(written);
}

}  // namespace herald::net
