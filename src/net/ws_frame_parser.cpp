#include "net/ws_frame_parser.hpp"

#include <algorithm>
#include <cstring>

#include "codec/utf8.hpp"

namespace herald::net {
namespace {

enum Opcode : uint8_t { kContinuation = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

bool is_control(uint8_t opcode) { return opcode & 0x8; }

bool is_known(uint8_t opcode) {
  return opcode == kContinuation || opcode == kText || opcode == kBinary || opcode == kClose || opcode == kPing ||
         opcode == kPong;
}

// The size of a client header, known from its second byte: clients always mask.
size_t header_length(uint8_t second) {
  uint8_t length = second & 0x7f;
  return 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) + 4;
}

// XORs `size` bytes with the masking key, starting `phase` bytes into it, eight bytes at a time.
void unmask(char* data, size_t size, const std::array<uint8_t, 4>& key, unsigned phase) {
  uint8_t rotated[8];
  for (unsigned i = 0; i < 8; ++i) rotated[i] = key[(phase + i) & 3];
  uint64_t mask;
  std::memcpy(&mask, rotated, 8);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    word ^= mask;
    std::memcpy(data + i, &word, 8);
  }
  for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ rotated[i & 3]);
}

}  // namespace

bool is_valid_close_code(uint16_t code) {
  // 1004 is reserved; 1005, 1006 and 1015 stand for conditions and are never sent; 1016-2999 are
  // unassigned or kept for extensions; 3000-4999 belong to libraries and applications.
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

bool WsFrameParser::feed(char* data, size_t size, WsFrameHandler& handler) {
  if (stopped_ || error_) return false;
  char* at = data;
  char* end = data + size;
  for (;;) {
    if (payload_left_ == 0) {
      Header header;
      Step step = next_header(at, end, header);
      if (step == Step::NeedMore) return true;
      if (step == Step::Failed) return false;
      bool whole = header.length <= static_cast<uint64_t>(end - at);
      if (whole && (is_control(header.opcode) || (header.fin && header.opcode != kContinuation))) {
        // The frame is complete in the caller's buffer: unmask it there and hand it over from there.
        std::string_view payload(at, static_cast<size_t>(header.length));
        unmask(at, payload.size(), header.key, 0);
        at += payload.size();
        bool go = is_control(header.opcode) ? dispatch_control(header.opcode, payload, handler)
                                            : hand_over(payload, header.opcode == kBinary, handler);
        if (!go) return false;
        continue;
      }
      begin_buffered_frame(header);
      if (payload_left_ == 0) {
        if (!end_buffered_frame(handler)) return false;
        continue;
      }
    }
    // The payload of a buffered frame: unmasked once, where the key left off, and appended.
    auto take = static_cast<size_t>(std::min<uint64_t>(payload_left_, static_cast<uint64_t>(end - at)));
    if (take == 0) return true;
    unmask(at, take, key_, key_phase_);
    (is_control(opcode_) ? control_ : message_).append(at, take);
    copied_payload_bytes_ += take;
    at += take;
    payload_left_ -= take;
    key_phase_ = static_cast<uint8_t>((key_phase_ + take) & 3);
    if (payload_left_ > 0) return true;
    if (!end_buffered_frame(handler)) return false;
  }
}

WsFrameParser::Step WsFrameParser::next_header(char*& at, char* end, Header& header) {
  const uint8_t* bytes;
  auto available = static_cast<size_t>(end - at);
  if (header_size_ == 0 && available >= 2 && available >= header_length(static_cast<uint8_t>(at[1]))) {
    bytes = reinterpret_cast<const uint8_t*>(at);
    if (uint16_t code = check_start(bytes[0], bytes[1])) return fail(code), Step::Failed;
    at += header_length(bytes[1]);
  } else {
    // The header is split across reads: keep its bytes (no more than 14) until the rest arrives.
    while (at != end && (header_size_ < 2 || header_size_ < header_length(header_[1]))) {
      header_[header_size_++] = static_cast<uint8_t>(*at++);
      if (header_size_ == 2)
        if (uint16_t code = check_start(header_[0], header_[1])) return fail(code), Step::Failed;
    }
    if (header_size_ < 2 || header_size_ < header_length(header_[1])) return Step::NeedMore;
    bytes = header_.data();
    header_size_ = 0;
  }
  header.opcode = bytes[0] & 0x0f;
  header.fin = bytes[0] & 0x80;
  header.length = bytes[1] & 0x7f;
  size_t pos = 2;
  if (header.length == 126) {
    header.length = (uint64_t{bytes[2]} << 8) | bytes[3];
    pos = 4;
  } else if (header.length == 127) {
    header.length = 0;
    for (int i = 0; i < 8; ++i) header.length = (header.length << 8) | bytes[2 + i];
    pos = 10;
    if (header.length >> 63) return fail(kCloseProtocolError), Step::Failed;  // RFC 6455 5.2
  }
  std::memcpy(header.key.data(), bytes + pos, 4);
  // Refused from the header, before any of the payload is kept; fragments count together.
  size_t so_far = header.opcode == kContinuation ? message_.size() : 0;
  if (header.length > max_message_ - so_far) return fail(kCloseTooBig), Step::Failed;
  return Step::Ready;
}

uint16_t WsFrameParser::check_start(uint8_t first, uint8_t second) const {
  uint8_t opcode = first & 0x0f;
  bool fin = first & 0x80;
  if (first & 0x70) return kCloseProtocolError;  // no extension was negotiated
  if (!is_known(opcode)) return kCloseProtocolError;
  if (!(second & 0x80)) return kCloseProtocolError;  // clients must mask (RFC 6455 5.1)
  if (is_control(opcode) && (!fin || (second & 0x7f) > 125)) return kCloseProtocolError;  // 5.5
  // A continuation needs a message to continue; a new message waits for the last one's end (5.4).
  if (opcode == kContinuation && !in_message_) return kCloseProtocolError;
  if ((opcode == kText || opcode == kBinary) && in_message_) return kCloseProtocolError;
  return 0;
}

void WsFrameParser::begin_buffered_frame(const Header& header) {
  opcode_ = header.opcode;
  fin_ = header.fin;
  key_ = header.key;
  key_phase_ = 0;
  payload_left_ = header.length;
  if (is_control(opcode_)) {
    control_.clear();
  } else if (opcode_ != kContinuation) {
    in_message_ = true;
    message_binary_ = opcode_ == kBinary;
  }
}

bool WsFrameParser::end_buffered_frame(WsFrameHandler& handler) {
  if (is_control(opcode_)) return dispatch_control(opcode_, control_, handler);
  if (!fin_) return true;
  // The connection keeps no message storage between messages: the buffer leaves with the message.
  std::string message;
  message.swap(message_);
  in_message_ = false;
  return hand_over(message, message_binary_, handler);
}

bool WsFrameParser::hand_over(std::string_view message, bool binary, WsFrameHandler& handler) {
  // Text fragments are checked together once the message is whole: a character may span two.
  if (!binary && !codec::is_valid_utf8(message)) return fail(kCloseInvalidPayload);
  return keep_going(handler.on_message(message, binary));
}

bool WsFrameParser::dispatch_control(uint8_t opcode, std::string_view payload, WsFrameHandler& handler) {
  if (opcode == kPing) return keep_going(handler.on_ping(payload));
  if (opcode == kPong) return keep_going(handler.on_pong(payload));
  // A close frame: nothing, or a valid code and a UTF-8 reason (RFC 6455 5.5.1, 7.4).
  if (payload.empty()) return keep_going(handler.on_close(kCloseNoStatus, {}));
  if (payload.size() == 1) return fail(kCloseProtocolError);
  auto code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]));
  if (!is_valid_close_code(code)) return fail(kCloseProtocolError);
  std::string_view reason = payload.substr(2);
  if (!codec::is_valid_utf8(reason)) return fail(kCloseInvalidPayload);
  return keep_going(handler.on_close(code, reason));
}

bool WsFrameParser::keep_going(bool go) {
  if (!go) stopped_ = true;
  return go;
}

bool WsFrameParser::fail(uint16_t code) {
  error_ = code;
  return false;
}

}  // namespace herald::net
