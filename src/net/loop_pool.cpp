#include "net/loop_pool.hpp"

namespace herald::net {
namespace {
thread_local size_t t_current_loop = LoopPool::kNoLoop;
}

LoopPool::LoopPool(size_t threads, Clock& clock) : clock_(clock) {
  if (threads == 0) threads = 1;
  for (size_t i = 0; i < threads; ++i) {
    // Concurrency hint 1: each io_context is run by one thread, so Asio can skip its locking.
    loops_.push_back(std::make_unique<asio::io_context>(1));
    guards_.emplace_back(loops_.back()->get_executor());
  }
}

LoopPool::~LoopPool() {
  stop();
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
}

size_t LoopPool::current() { return t_current_loop; }

void LoopPool::run_loop(size_t index) {
  t_current_loop = index;
  loops_[index]->run();
  t_current_loop = kNoLoop;
}

void LoopPool::run() {
  for (size_t i = 1; i < loops_.size(); ++i) threads_.emplace_back([this, i] { run_loop(i); });
  run_loop(0);
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
  threads_.clear();
}

void LoopPool::stop() {
  guards_.clear();
  for (auto& loop : loops_) loop->stop();
}

void LoopPool::post_all(const std::function<void(size_t)>& work) {
  for (size_t i = 0; i < loops_.size(); ++i) post(i, [work, i] { work(i); });
}

}  // namespace herald::net
