#include "ws/message_reader.hpp"

#include <cstring>

namespace herald::bench::ws {
namespace {

// Past this, a buffer that was grown for one large frame or message is given back.
constexpr size_t kKeepCapacity = size_t{64} * 1024;

void release_if_large(std::string& buffer) {
  if (buffer.capacity() > kKeepCapacity) std::string().swap(buffer);
}

}  // namespace

std::span<char> MessageReader::prepare(std::span<char> chunk) {
  if (tail_size_ <= chunk.size() / 2) {
    std::memcpy(chunk.data(), tail_.data(), tail_size_);
    base_ = chunk.data();
    return chunk.subspan(tail_size_);
  }
  if (tail_.size() < tail_size_ + chunk.size()) tail_.resize(tail_size_ + chunk.size());
  base_ = tail_.data();
  return {tail_.data() + tail_size_, chunk.size()};
}

MessageReader::Status MessageReader::commit(size_t size, MessageSink& sink) {
  std::string_view data(base_, tail_size_ + size);
  size_t pos = 0;
  for (;;) {
    Frame frame;
    switch (parse_frame(data.substr(pos), max_message_, frame)) {
      case ParseResult::Incomplete:
        keep(data.substr(pos));
        return Status::Ok;
      case ParseResult::Invalid:
        return Status::Invalid;
      case ParseResult::TooBig:
        return Status::TooBig;
      case ParseResult::Complete:
        break;
    }
    pos += frame.size;
    if (Status status = on_frame(frame, sink); status != Status::Ok) return status;
  }
}

MessageReader::Status MessageReader::on_frame(const Frame& frame, MessageSink& sink) {
  switch (frame.opcode) {
    case Opcode::Text:
    case Opcode::Binary:
      if (in_message_) return Status::Invalid;  // the previous message never ended
      if (frame.fin)
        return sink.on_message(frame.payload, frame.opcode == Opcode::Binary) ? Status::Ok : Status::Stopped;
      in_message_ = true;
      message_binary_ = frame.opcode == Opcode::Binary;
      message_.assign(frame.payload);
      return Status::Ok;
    case Opcode::Continuation: {
      if (!in_message_) return Status::Invalid;
      if (message_.size() + frame.payload.size() > max_message_) return Status::TooBig;
      message_.append(frame.payload);
      if (!frame.fin) return Status::Ok;
      in_message_ = false;
      bool go_on = sink.on_message(message_, message_binary_);
      message_.clear();
      release_if_large(message_);
      return go_on ? Status::Ok : Status::Stopped;
    }
    case Opcode::Ping:
      return sink.on_ping(frame.payload) ? Status::Ok : Status::Stopped;
    case Opcode::Pong:
      return Status::Ok;
    case Opcode::Close:
      sink.on_close(frame.payload);
      return Status::Closed;
  }
  return Status::Invalid;
}

void MessageReader::keep(std::string_view rest) {
  if (base_ == tail_.data()) {
    std::memmove(tail_.data(), rest.data(), rest.size());
    if (rest.size() <= kKeepCapacity / 2 && tail_.size() > kKeepCapacity) {
      tail_.resize(rest.size());
      tail_.shrink_to_fit();
    }
  } else {
    if (tail_.size() < rest.size()) tail_.resize(rest.size());
    std::memcpy(tail_.data(), rest.data(), rest.size());
  }
  tail_size_ = rest.size();
}

void MessageReader::reset() {
  tail_size_ = 0;
  release_if_large(tail_);
  in_message_ = false;
  message_.clear();
  release_if_large(message_);
}

}  // namespace herald::bench::ws
