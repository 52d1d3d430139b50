// Requests every other server answers once (fetchSockets, serverSideEmit with acks): their answers
// are gathered until all have come or the timeout ends. Redis loop only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "cluster/adapter_messages.hpp"

namespace herald::cluster {

class Gatherings : public std::enable_shared_from_this<Gatherings> {
 public:
  struct Gathering {
    const char* what;  // for the log
    size_t awaiting = 0;
    // Takes one answer; false when the body does not answer this kind of request (not counted).
    std::function<bool(Body& answer)> take;
    // Once: every answer came (true), or the timeout ended (false).
    std::function<void(bool complete)> done;
    // Silence is no fault of its own (a Node server never answers a server-side event it has no
    // handler for): a timeout is logged at debug level, and the caller judges it.
    bool silence_expected = false;
  };

  explicit Gatherings(boost::asio::io_context& loop) : loop_(loop) {}

  void start(const std::string& request_id, std::chrono::milliseconds timeout, Gathering gathering);
  // As start, for a request sent before the servers are counted (so that it keeps its place
  // among the requests sent after it): `counted` says how many answers to wait for, and answers
  // that came first count towards them.
  void start_uncounted(const std::string& request_id, std::chrono::milliseconds timeout, Gathering gathering);
  // `ok` false: the servers could not be counted, and the gathering ends incomplete.
  void counted(const std::string& request_id, size_t awaiting, bool ok);
  // An answer from another server; false when no gathering waits for `request_id`.
  bool answer(const std::string& request_id, Body& body);

 private:
  struct Entry {
    Gathering gathering;
    boost::asio::steady_timer timer;
    bool counted = true;  // gathering.awaiting is known
    size_t answered = 0;
  };
  void finish(const std::string& request_id, bool complete);

  boost::asio::io_context& loop_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace herald::cluster
