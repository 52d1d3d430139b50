// A thread per core, each running its own io_context: the shared-nothing core of Herald. Every
// connection, session and socket belongs to exactly one loop; other loops reach it by posting.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cassert>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include "net/clock.hpp"

namespace herald::net {

namespace asio = boost::asio;

class LoopPool {
 public:
  static constexpr size_t kNoLoop = std::numeric_limits<size_t>::max();

  // `clock`: the time every timer on the loops reads (a manual one in tests); it outlives the pool.
  explicit LoopPool(size_t threads, Clock& clock = Clock::steady());
  LoopPool(const LoopPool&) = delete;
  LoopPool& operator=(const LoopPool&) = delete;
  ~LoopPool();

  size_t size() const { return loops_.size(); }
  asio::io_context& loop(size_t index) { return *loops_[index]; }
  Clock& clock() const { return clock_; }

  // Index of the loop running on the calling thread, or kNoLoop.
  static size_t current();

  // Runs every loop (loop 0 on the calling thread) until stop(). Blocks.
  void run();
  void stop();

  template <class F>
  void post(size_t index, F&& work) {
    asio::post(*loops_[index], std::forward<F>(work));
  }
  // Runs work(index) on every loop; inline for the calling loop's turn comes via post too, so
  // ordering is the same for all.
  void post_all(const std::function<void(size_t)>& work);

 private:
  void run_loop(size_t index);

  Clock& clock_;
  std::vector<std::unique_ptr<asio::io_context>> loops_;
  std::vector<std::thread> threads_;
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<WorkGuard> guards_;
};

// Thread affinity stated in code, checked in debug and sanitizer builds: what loop `index` owns is
// touched on that loop only. A thread outside every pool passes (tests drive a loop by hand).
inline void assert_on_loop([[maybe_unused]] size_t index) {
  assert(LoopPool::current() == index || LoopPool::current() == LoopPool::kNoLoop);
}

}  // namespace herald::net
