// Gathers what several asynchronous parts report into one result, and calls `done` once, after
// the last part: the fan-in of a request sent to every loop, every message of a batch, or a local
// and a remote half. Parts report on one thread (each posts its part to the loop that waits), so
// there is no lock; hold the FanIn by shared_ptr in each part's callback.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <utility>

namespace herald::net {

template <class Result>
class FanIn {
 public:
  using Done = std::function<void(Result&)>;

  // Waits for `parts` parts; with none, calls `done` at once.
  static std::shared_ptr<FanIn> expect(size_t parts, Done done, Result initial = Result{}) {
    auto fan_in = std::shared_ptr<FanIn>(new FanIn(parts, std::move(done), std::move(initial)));
    if (parts == 0) fan_in->finish();
    return fan_in;
  }

  // What the parts have added so far.
  Result& result() { return result_; }
  // One part has reported (after adding to result()); the last one calls done.
  void arrived() {
    if (left_ > 0 && --left_ == 0) finish();
  }
  size_t left() const { return left_; }

 private:
  FanIn(size_t parts, Done done, Result initial) : left_(parts), result_(std::move(initial)), done_(std::move(done)) {}
  void finish() {
    if (auto done = std::exchange(done_, nullptr)) done(result_);
  }

  size_t left_;
  Result result_;
  Done done_;
};

}  // namespace herald::net
