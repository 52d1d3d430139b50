// The frames a WebSocket client sends (RFC 6455 5.2), parsed incrementally, with the rules a server
// enforces on them (masking, control frames, fragmentation, message size, UTF-8, close codes). Pure:
// no I/O, no Asio, so it is unit tested and fuzzed on its own.
//
// Hand-written because no packaged library offers a pure incremental RFC 6455 frame parser that
// fits the connection's memory design: it holds nothing while idle, so a connection can drop it and
// use a fresh one between messages, and it never re-reads what it was given. The cost is linear in
// the bytes received however the stream is split: a frame complete in the caller's buffer is
// unmasked in place and delivered from there; of an unfinished frame only the header (at most 14
// bytes) is kept, and its payload is unmasked once, as it arrives, into the message being assembled.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace herald::net {

// Close codes the parser reports (RFC 6455 7.4.1).
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseNoStatus = 1005;  // stands for "the close frame carried no code"
inline constexpr uint16_t kCloseInvalidPayload = 1007;
inline constexpr uint16_t kCloseTooBig = 1009;

// Whether a peer may send `code` in a close frame (RFC 6455 7.4.1, 7.4.2; the IANA registry).
bool is_valid_close_code(uint16_t code);

// What the parser found. Each call returns false to stop parsing (say, the connection closed). The
// data lives until the call returns.
class WsFrameHandler {
 public:
  // A complete message: text is valid UTF-8.
  virtual bool on_message(std::string_view data, bool binary) = 0;
  virtual bool on_ping(std::string_view payload) = 0;
  virtual bool on_pong(std::string_view payload) = 0;
  // A valid close frame; `code` is kCloseNoStatus when it carried none.
  virtual bool on_close(uint16_t code, std::string_view reason) = 0;
  virtual ~WsFrameHandler() = default;
};

class WsFrameParser {
 public:
  // 2 bytes, a 64-bit length, a 4-byte masking key.
  static constexpr size_t kMaxHeader = 14;

  // Messages (all their fragments together) longer than `max_message` are refused with 1009.
  explicit WsFrameParser(size_t max_message) : max_message_(max_message) {}

  // Parses the next bytes of the stream, unmasking them in place. False once parsing stopped: a
  // handler returned false, or the stream broke a rule and error() is the close code to send.
  // After that, feed does nothing.
  bool feed(char* data, size_t size, WsFrameHandler& handler);
  // The close code of the rule the stream broke; 0 while it broke none.
  uint16_t error() const { return error_; }
  // Nothing unfinished: no partial frame and no fragmented message. An idle parser may be dropped
  // and a fresh one used for the rest of the stream.
  bool idle() const { return header_size_ == 0 && payload_left_ == 0 && !in_message_; }

  // For tests: the header bytes kept of an unfinished frame, the payload bytes copied into the
  // parser's own buffers so far, and the capacity of the message buffer.
  size_t kept_header_bytes() const { return header_size_; }
  uint64_t copied_payload_bytes() const { return copied_payload_bytes_; }
  size_t message_capacity() const { return message_.capacity(); }

 private:
  struct Header {
    uint8_t opcode;
    bool fin;
    uint64_t length;
    std::array<uint8_t, 4> key;
  };
  enum class Step : uint8_t { Ready, NeedMore, Failed };

  // Reads the next header from the buffer, or completes one kept from earlier reads.
  Step next_header(char*& at, char* end, Header& header);
  // The rules the first two bytes decide; 0 when they break none.
  uint16_t check_start(uint8_t first, uint8_t second) const;
  // Starts a frame whose payload is copied into the parser's buffers as it arrives.
  void begin_buffered_frame(const Header& header);
  // A buffered frame is complete: hands over a control frame or a finished message.
  bool end_buffered_frame(WsFrameHandler& handler);
  bool hand_over(std::string_view message, bool binary, WsFrameHandler& handler);
  bool dispatch_control(uint8_t opcode, std::string_view payload, WsFrameHandler& handler);
  // Notes a handler's wish to stop; returns it.
  bool keep_going(bool go);
  // Notes the broken rule; returns false.
  bool fail(uint16_t code);

  size_t max_message_;
  std::string message_;        // the message being assembled: a fragmented one, or one frame split across reads
  std::string control_;        // the payload of a control frame split across reads (at most 125 bytes)
  uint64_t payload_left_ = 0;  // of the frame being buffered
  uint64_t copied_payload_bytes_ = 0;
  std::array<uint8_t, kMaxHeader> header_{};  // an unfinished header
  std::array<uint8_t, 4> key_{};              // of the frame being buffered
  uint8_t header_size_ = 0;
  uint8_t key_phase_ = 0;  // payload bytes unmasked so far, mod 4
  uint8_t opcode_ = 0;     // of the frame being buffered
  bool fin_ = false;
  bool in_message_ = false;  // a data frame started a message its final frame has not ended
  bool message_binary_ = false;
  bool stopped_ = false;
  uint16_t error_ = 0;
};

}  // namespace herald::net
