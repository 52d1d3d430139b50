// Worker processes of a load tool: forks them, each with a pipe on which it reports JSON lines
// to the parent, reads those lines in the parent's loop, signals and reaps the workers. A worker
// runs single-threaded and dies with its parent.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <nlohmann/json.hpp>

namespace herald::bench {

namespace asio = boost::asio;

class WorkerProcesses {
 public:
  // Runs in the child with its index and the write end of its report pipe; must not return.
  using Body = std::function<void(size_t index, int report_fd)>;
  using LineHandler = std::function<void(size_t index, const nlohmann::json& line)>;
  using ClosedHandler = std::function<void(size_t index)>;

  // Forks `count` workers. On failure returns why (the workers already forked stay).
  std::optional<std::string> spawn(size_t count, const Body& body);
  // Reads every worker's lines on `io`: JSON objects go to `on_line`; `on_closed` is called once
  // a worker's pipe closes (it exited).
  void listen(asio::io_context& io, LineHandler on_line, ClosedHandler on_closed);
  // Closes the pipes listen() reads. Called by whoever owns that io_context before it is
  // destroyed: a pipe outliving its io_context would be torn down through freed memory.
  void stop_listening();
  // Sends `signal` to every worker that has not exited.
  void signal_all(int signal) const;
  // Waits for every worker to exit.
  void reap() const;

  size_t size() const { return workers_.size(); }
  pid_t pid(size_t index) const { return workers_[index].pid; }
  bool closed(size_t index) const { return workers_[index].closed; }
  bool all_closed() const;

  // For the child: a blocking write of one line to the parent, which always reads, so this does
  // not stall. Exits the process when the parent is gone.
  static void write_line(int fd, const std::string& line);

 private:
  struct Worker {
    pid_t pid = -1;
    int fd = -1;  // read end of its report pipe
    std::unique_ptr<asio::posix::stream_descriptor> pipe;
    std::string buffer;
    bool closed = false;
  };
  void read_from(size_t index);

  std::vector<Worker> workers_;
  LineHandler on_line_;
  ClosedHandler on_closed_;
};

// Raises the soft open-file limit to the hard one; returns the limit now in force.
uint64_t raise_open_file_limit();
// How many local ports the kernel hands out per local address (ip_local_port_range).
uint64_t ephemeral_port_count();

}  // namespace herald::bench
