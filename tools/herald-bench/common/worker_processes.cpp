// Forking, reading, signalling and reaping worker processes; the process limits they run under.
#include "common/worker_processes.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>

#include <boost/asio/read_until.hpp>

namespace herald::bench {

std::optional<std::string> WorkerProcesses::spawn(size_t count, const Body& body) {
  for (size_t index = 0; index < count; ++index) {
    int fds[2];
    if (::pipe(fds) != 0) return std::string("pipe: ") + std::strerror(errno);
    pid_t pid = ::fork();
    if (pid < 0) return std::string("fork: ") + std::strerror(errno);
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the parent
      ::close(fds[0]);
      for (const auto& earlier : workers_) ::close(earlier.fd);
      body(index, fds[1]);
      _exit(0);  // not reached: the body exits by itself
    }
    ::close(fds[1]);
    Worker worker;
    worker.pid = pid;
    worker.fd = fds[0];
    workers_.push_back(std::move(worker));
  }
  return std::nullopt;
}

void WorkerProcesses::listen(asio::io_context& io, LineHandler on_line, ClosedHandler on_closed) {
  on_line_ = std::move(on_line);
  on_closed_ = std::move(on_closed);
  for (size_t i = 0; i < workers_.size(); ++i) {
    workers_[i].pipe = std::make_unique<asio::posix::stream_descriptor>(io, workers_[i].fd);
    read_from(i);
  }
}

void WorkerProcesses::stop_listening() {
  for (auto& worker : workers_) worker.pipe.reset();
}

void WorkerProcesses::read_from(size_t index) {
  auto& worker = workers_[index];
  asio::async_read_until(*worker.pipe, asio::dynamic_buffer(worker.buffer), '\n',
                         [this, index](const boost::system::error_code& ec, size_t length) {
                           auto& link = workers_[index];
                           if (ec) {
                             link.closed = true;
                             return on_closed_(index);
                           }
                           auto line = nlohmann::json::parse(link.buffer.substr(0, length - 1), nullptr, false);
                           link.buffer.erase(0, length);
                           if (line.is_object()) on_line_(index, line);
                           read_from(index);
                         });
}

void WorkerProcesses::signal_all(int signal) const {
  for (const auto& worker : workers_)
    if (!worker.closed) ::kill(worker.pid, signal);
}

void WorkerProcesses::reap() const {
  for (const auto& worker : workers_) ::waitpid(worker.pid, nullptr, 0);
}

bool WorkerProcesses::all_closed() const {
  return std::all_of(workers_.begin(), workers_.end(), [](const Worker& w) { return w.closed; });
}

void WorkerProcesses::write_line(int fd, const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(3);  // the parent is gone
    done += static_cast<size_t>(n);
  }
}

uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

uint64_t ephemeral_port_count() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  uint64_t low = 0, high = 0;
  if (!(range >> low >> high) || high < low) return 28000;
  return high - low + 1;
}

}  // namespace herald::bench
