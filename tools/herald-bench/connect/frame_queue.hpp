// Frames waiting for the one WebSocket write in flight. Frames are written from one batch while
// new ones gather in another; the two swap when the first is done. Slots keep their capacity,
// so a client acking message after message does not allocate, and a frame being written never
// moves (growing the gathering batch cannot relocate the batch being sent).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::bench {

class FrameQueue {
 public:
  void push(std::string_view frame) {
    if (gathered_ == gathering_.size()) gathering_.emplace_back();
    gathering_[gathered_++].assign(frame);
  }
  bool empty() const { return next_ == sending_count_ && gathered_ == 0; }
  // The next frame to write; call only when not empty.
  const std::string& front() {
    if (next_ == sending_count_) {
      std::swap(sending_, gathering_);
      sending_count_ = gathered_;
      gathered_ = 0;
      next_ = 0;
    }
    return sending_[next_];
  }
  // Drops the frame front() returned, once it is written.
  void pop() { ++next_; }
  void clear() { next_ = sending_count_ = gathered_ = 0; }

 private:
  std::vector<std::string> sending_;
  size_t sending_count_ = 0;
  size_t next_ = 0;
  std::vector<std::string> gathering_;
  size_t gathered_ = 0;
};

}  // namespace herald::bench
