// A redis-server child process on a free port of 127.0.0.1, for the Redis client's unit tests
// (redis_connection_test, redis_failover_test).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "redis/connection.hpp"

extern char** environ;

namespace herald::redis {

inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

// True once something accepts connections on the port (and, for plain TCP, answers PING).
inline bool answers(uint16_t port, bool ping) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  if (ok && ping) {
    char buffer[16] = {};
    // +PONG, or -NOAUTH from a server with a password: either way it serves requests.
    ok = ::write(fd, "PING\r\n", 6) == 6 && ::read(fd, buffer, sizeof(buffer)) > 0 &&
         (buffer[0] == '+' || buffer[0] == '-');
  }
  ::close(fd);
  return ok;
}

class RedisServer {
 public:
  // `tls`: the port is a TLS port (the certificate and key files are passed in `extra`).
  explicit RedisServer(std::vector<std::string> extra = {}, bool tls = false) : extra_(std::move(extra)), tls_(tls) {
    char pattern[] = "/tmp/herald-redis-test-XXXXXX";
    if (::mkdtemp(pattern) != nullptr) dir_ = pattern;
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer() {
    kill();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  // Starts redis-server (on a new free port the first time, on the same port after kill()).
  bool start() {
    for (int tries = 0; tries < 5; ++tries) {
      if (port_ == 0 || (tries > 0 && !started_once_)) port_ = free_port();
      if (spawn() && wait_ready()) {
        started_once_ = true;
        return true;
      }
      kill();
    }
    return false;
  }

  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void pause() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }

  uint16_t port() const { return port_; }
  Endpoint endpoint() const {
    Endpoint endpoint;
    endpoint.port = port_;
    return endpoint;
  }

 private:
  bool spawn() {
    std::vector<std::string> args{"redis-server",
                                  tls_ ? "--tls-port" : "--port",
                                  std::to_string(port_),
                                  "--bind",
                                  "127.0.0.1",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--enable-debug-command",
                                  "yes",
                                  "--dir",
                                  dir_,
                                  "--logfile",
                                  dir_ + "/redis.log"};
    if (tls_) args.insert(args.end(), {"--port", "0"});
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    return ::posix_spawn(&pid_, "/usr/bin/redis-server", nullptr, nullptr, argv.data(), environ) == 0;
  }

  bool wait_ready() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {  // exited: port taken, bad option...
        pid_ = -1;
        return false;
      }
      if (answers(port_, !tls_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  std::vector<std::string> extra_;
  bool tls_ = false;
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool started_once_ = false;
};

}  // namespace herald::redis
