// libFuzzer target: the WebSocket frame parser (what clients send), fed the stream whole, in pieces
// whose sizes the input chooses, and one byte at a time. Invariants: every split gives the same
// messages, control frames and error as the whole stream, and ends in the same state; no more than
// one header (14 bytes) is kept between pieces; no payload byte is copied twice; messages respect
// the limit, text is valid UTF-8, and close frames carry a valid code and a UTF-8 reason.
//
// Input: byte 0 picks the message limit, byte 1 how many of the next bytes give piece sizes; the
// rest is the stream.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/utf8.hpp"
#include "net/ws_frame_parser.hpp"

using namespace herald::net;
using herald::codec::is_valid_utf8;

namespace {

class Recorder : public WsFrameHandler {
 public:
  explicit Recorder(size_t max_message) : max_message_(max_message) {}

  bool on_message(std::string_view data, bool binary) override {
    if (data.size() > max_message_) __builtin_trap();
    if (!binary && !is_valid_utf8(data)) __builtin_trap();
    return note(binary ? 'B' : 'T', data);
  }
  bool on_ping(std::string_view payload) override { return note('P', check_control(payload)); }
  bool on_pong(std::string_view payload) override { return note('O', check_control(payload)); }
  bool on_close(uint16_t code, std::string_view reason) override {
    if (code == kCloseNoStatus ? !reason.empty() : !is_valid_close_code(code)) __builtin_trap();
    if (!is_valid_utf8(check_control(reason))) __builtin_trap();
    return note('C', std::to_string(code) + ":" + std::string(reason));
  }

  std::vector<std::string> events;

 private:
  static std::string_view check_control(std::string_view payload) {
    if (payload.size() > 125) __builtin_trap();
    return payload;
  }
  bool note(char kind, std::string_view payload) {
    events.push_back(kind + std::string(payload));
    return true;
  }

  size_t max_message_;
};

struct Outcome {
  std::vector<std::string> events;
  uint16_t error;
  bool idle;
  bool operator==(const Outcome&) const = default;
};

// Feeds `stream` in pieces of the given sizes, cycled (none: whole); each piece in a buffer of its
// own, so that reading past a piece is caught.
Outcome run(std::string_view stream, size_t max_message, std::span<const uint8_t> sizes) {
  WsFrameParser parser(max_message);
  Recorder recorder(max_message);
  size_t pos = 0;
  size_t turn = 0;
  while (pos < stream.size()) {
    size_t size = stream.size() - pos;
    if (!sizes.empty()) {
      size = std::min<size_t>(size, sizes[turn++ % sizes.size()]);
      if (size == 0) {
        // An empty read changes nothing; then go on by one byte.
        if (!parser.feed(nullptr, 0, recorder) && parser.error() == 0) __builtin_trap();
        size = 1;
      }
    }
    auto piece = std::make_unique<char[]>(size);
    std::memcpy(piece.get(), stream.data() + pos, size);
    pos += size;
    bool going = parser.feed(piece.get(), size, recorder);
    if (parser.kept_header_bytes() > WsFrameParser::kMaxHeader) __builtin_trap();
    if (parser.copied_payload_bytes() > pos) __builtin_trap();
    if (!going) {
      if (parser.error() == 0) __builtin_trap();  // the recorder never asks to stop
      break;
    }
  }
  // After an error the state is moot (a split header may be kept, a whole one is not).
  return {recorder.events, parser.error(), parser.error() == 0 && parser.idle()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t max_message = data[0] == 0xff ? SIZE_MAX : size_t{data[0]} * 37;
  size_t count = std::min<size_t>(data[1] % 16, size - 2);
  std::span<const uint8_t> sizes(data + 2, count);
  std::string_view stream(reinterpret_cast<const char*>(data + 2 + count), size - 2 - count);

  Outcome whole = run(stream, max_message, {});
  const uint8_t one[] = {1};
  if (!sizes.empty() && run(stream, max_message, sizes) != whole) __builtin_trap();
  if (run(stream, max_message, one) != whole) __builtin_trap();
  return 0;
}
