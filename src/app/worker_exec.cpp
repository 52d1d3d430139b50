#include "app/worker_exec.hpp"

#include <fcntl.h>
#include <limits.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace herald::app {
namespace {

constexpr const char* kIndexVariable = "HERALD_WORKER_INDEX";
constexpr const char* kListenVariable = "HERALD_LISTEN_FDS";
constexpr const char* kReadyVariable = "HERALD_READY_FD";

bool set_close_on_exec(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0) return false;
  return ::fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC) == 0;
}

int parse_number(std::string_view text, const char* what) {
  int number = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end != text.data() + text.size() || number < 0)
    throw std::runtime_error(std::string("not a ") + what + ": '" + std::string(text) + "'");
  return number;
}

int parse_fd(std::string_view text) {
  int fd = parse_number(text, "descriptor");
  if (::fcntl(fd, F_GETFD) < 0) throw std::runtime_error("descriptor " + std::string(text) + " is not open");
  return fd;
}

}  // namespace

std::optional<WorkerCommand> this_program(int argc, char** argv) {
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) {
    spdlog::error("cannot read /proc/self/exe: {}", std::strerror(errno));
    return std::nullopt;
  }
  WorkerCommand command;
  command.executable.assign(path, static_cast<size_t>(n));
  // A binary replaced while running reads as "<path> (deleted)": its path is where the new one is.
  constexpr std::string_view kDeleted = " (deleted)";
  if (command.executable.ends_with(kDeleted)) command.executable.resize(command.executable.size() - kDeleted.size());
  for (int i = 0; i < argc; ++i) command.arguments.emplace_back(argv[i]);
  return command;
}

void exec_worker(const WorkerCommand& command, size_t index, const std::vector<int>& listen_fds, int ready_fd) {
  std::string fds;
  for (int fd : listen_fds) {
    if (!set_close_on_exec(fd, false)) return;
    fds += (fds.empty() ? "" : ",") + std::to_string(fd);
  }
  if (!set_close_on_exec(ready_fd, false)) return;
  ::setenv(kIndexVariable, std::to_string(index).c_str(), 1);
  ::setenv(kListenVariable, fds.c_str(), 1);
  ::setenv(kReadyVariable, std::to_string(ready_fd).c_str(), 1);
  std::vector<char*> argv;
  for (const auto& argument : command.arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  ::execv(command.executable.c_str(), argv.data());
}

std::optional<InheritedWorker> inherited_worker(const std::string& version) {
  const char* listen = std::getenv(kListenVariable);
  const char* ready = std::getenv(kReadyVariable);
  const char* index = std::getenv(kIndexVariable);
  if (!listen || !ready) return std::nullopt;
  InheritedWorker worker;
  std::string_view list(listen);
  while (!list.empty()) {
    size_t comma = list.find(',');
    worker.listen_fds.push_back(parse_fd(list.substr(0, comma)));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  if (worker.listen_fds.empty()) throw std::runtime_error(std::string(kListenVariable) + " names no socket");
  int ready_fd = parse_fd(ready);
  if (index) worker.index = static_cast<size_t>(parse_number(index, "worker index"));
  for (int fd : worker.listen_fds) set_close_on_exec(fd, true);
  set_close_on_exec(ready_fd, true);
  // HERALD_WORKER_INDEX stays: it names the worker in its log and alerts.
  ::unsetenv(kListenVariable);
  ::unsetenv(kReadyVariable);
  worker.ready = readiness_writer(ready_fd, version);
  return worker;
}

std::function<void()> readiness_writer(int fd, std::string version) {
  auto shared_fd = std::make_shared<std::atomic<int>>(fd);
  return [shared_fd, version = std::move(version)] {
    int f = shared_fd->exchange(-1);
    if (f < 0) return;
    while (::write(f, version.data(), version.size()) < 0 && errno == EINTR) {
    }
    ::close(f);
  };
}

}  // namespace herald::app
