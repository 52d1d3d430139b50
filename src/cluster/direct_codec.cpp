#include "cluster/direct_codec.hpp"

#include <cstring>

namespace herald::cluster::direct {
namespace {

enum Type : uint8_t { kPush = 1, kReached = 2, kAcks = 3, kDropped = 4 };

void put_u32(std::string& out, uint32_t value) {
  char bytes[4];
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  out.append(bytes, 4);
}

void put_u64(std::string& out, uint64_t value) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  out.append(bytes, 8);
}

void put_string(std::string& out, std::string_view text) {
  put_u32(out, static_cast<uint32_t>(text.size()));
  out.append(text);
}

void put_socket(std::string& out, const SocketRef& socket) {
  put_string(out, socket.id);
  put_string(out, socket.user);
}

// Reads fields from a frame's body; any read past its end makes it fail for good.
class Reader {
 public:
  explicit Reader(std::string_view body) : body_(body) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && at_ == body_.size(); }

  uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<uint8_t>(body_[at_++]);
  }
  uint32_t u32() {
    if (!need(4)) return 0;
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(static_cast<uint8_t>(body_[at_ + i])) << (8 * i);
    at_ += 4;
    return value;
  }
  uint64_t u64() {
    if (!need(8)) return 0;
    uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(body_[at_ + i])) << (8 * i);
    at_ += 8;
    return value;
  }
  std::string string() {
    uint32_t size = u32();
    if (!need(size)) return {};
    std::string text(body_.substr(at_, size));
    at_ += size;
    return text;
  }
  SocketRef socket() {
    SocketRef ref;
    ref.id = string();
    ref.user = string();
    return ref;
  }
  // A count of items of at least `min_item` bytes each: more than the rest of the body can hold
  // is malformed (so a bad count cannot make the decoder reserve memory).
  uint32_t count(size_t min_item) {
    uint32_t n = u32();
    if (ok_ && static_cast<uint64_t>(n) * min_item > body_.size() - at_) ok_ = false;
    return ok_ ? n : 0;
  }

 private:
  bool need(size_t size) {
    if (!ok_ || body_.size() - at_ < size) {
      ok_ = false;
      return false;
    }
    return true;
  }

  std::string_view body_;
  size_t at_ = 0;
  bool ok_ = true;
};

constexpr size_t kStringMin = 4;
constexpr size_t kSocketMin = 2 * kStringMin;

}  // namespace

void encode(const Frame& frame, std::string& out) {
  size_t start = out.size();
  put_u32(out, 0);  // the body's length, filled in below
  std::visit(
      [&out](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, Push>) {
          out.push_back(static_cast<char>(kPush));
          put_u64(out, body.request);
          put_u32(out, body.timeout_ms);
          put_string(out, body.nsp);
          put_u32(out, static_cast<uint32_t>(body.users.size()));
          for (const auto& user : body.users) put_string(out, user);
          put_string(out, body.data);
        } else if constexpr (std::is_same_v<T, Reached>) {
          out.push_back(static_cast<char>(kReached));
          put_u64(out, body.request);
          put_u32(out, static_cast<uint32_t>(body.sockets.size()));
          for (const auto& socket : body.sockets) put_socket(out, socket);
        } else if constexpr (std::is_same_v<T, Acks>) {
          out.push_back(static_cast<char>(kAcks));
          put_u64(out, body.request);
          put_u32(out, static_cast<uint32_t>(body.acks.size()));
          for (const auto& ack : body.acks) {
            put_socket(out, ack.socket);
            put_string(out, ack.reply);
          }
        } else {
          out.push_back(static_cast<char>(kDropped));
          put_u64(out, body.request);
          put_socket(out, body.socket);
        }
      },
      frame);
  auto size = static_cast<uint32_t>(out.size() - start - 4);
  for (int i = 0; i < 4; ++i) out[start + i] = static_cast<char>((size >> (8 * i)) & 0xff);
}

Decoded decode(std::string_view input, Frame& frame, size_t& consumed) {
  if (input.size() < 4) return Decoded::NeedMore;
  uint32_t size = 0;
  for (int i = 0; i < 4; ++i) size |= static_cast<uint32_t>(static_cast<uint8_t>(input[i])) << (8 * i);
  if (size > kMaxFrame || size < 9) return Decoded::Malformed;
  if (input.size() - 4 < size) return Decoded::NeedMore;
  Reader in(input.substr(4, size));
  uint8_t type = in.u8();
  uint64_t request = in.u64();
  switch (type) {
    case kPush: {
      Push push;
      push.request = request;
      push.timeout_ms = in.u32();
      push.nsp = in.string();
      uint32_t users = in.count(kStringMin);
      push.users.reserve(users);
      for (uint32_t i = 0; i < users && in.ok(); ++i) push.users.push_back(in.string());
      push.data = in.string();
      frame = std::move(push);
      break;
    }
    case kReached: {
      Reached reached;
      reached.request = request;
      uint32_t sockets = in.count(kSocketMin);
      reached.sockets.reserve(sockets);
      for (uint32_t i = 0; i < sockets && in.ok(); ++i) reached.sockets.push_back(in.socket());
      frame = std::move(reached);
      break;
    }
    case kAcks: {
      Acks acks;
      acks.request = request;
      uint32_t count = in.count(kSocketMin + kStringMin);
      acks.acks.reserve(count);
      for (uint32_t i = 0; i < count && in.ok(); ++i) {
        Ack ack;
        ack.socket = in.socket();
        ack.reply = in.string();
        acks.acks.push_back(std::move(ack));
      }
      frame = std::move(acks);
      break;
    }
    case kDropped: {
      Dropped dropped;
      dropped.request = request;
      dropped.socket = in.socket();
      frame = std::move(dropped);
      break;
    }
    default:
      return Decoded::Malformed;
  }
  if (!in.done()) return Decoded::Malformed;
  consumed = 4 + static_cast<size_t>(size);
  return Decoded::Ok;
}

}  // namespace herald::cluster::direct
