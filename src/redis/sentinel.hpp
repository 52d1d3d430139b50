// Redis Sentinel discovery: which server is the master of a monitored set now, and word when a
// failover moves it. Two connections to the sentinels (each rotates through them whenever the one
// it uses fails): one asks SENTINEL GET-MASTER-ADDR-BY-NAME, one subscribes to +switch-master.
// Its locator() hands the master's address to the data connections before each of their
// attempts; on_switch() tells them to leave the old master at once. Runs on one loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "redis/connection.hpp"

namespace herald::redis {

struct SentinelSettings {
  std::vector<Endpoint> sentinels;  // host, port and the sentinels' own credentials
  std::string master_name;
};

class Sentinel : public std::enable_shared_from_this<Sentinel> {
 public:
  static std::shared_ptr<Sentinel> create(boost::asio::io_context& loop, SentinelSettings settings);
  Sentinel(boost::asio::io_context& loop, SentinelSettings settings);
  Sentinel(const Sentinel&) = delete;
  Sentinel& operator=(const Sentinel&) = delete;

  // Handlers before start().
  void on_switch(std::function<void(const std::string& host, uint16_t port)> handler) {
    switch_handler_ = std::move(handler);
  }
  void start();
  void stop();

  // Asks the sentinels for the master's address; `done` runs on the loop.
  void locate(std::function<void(Located)> done);
  // A Locator for Options::locate that asks this Sentinel.
  Locator locator();
  const std::string& master_name() const { return settings_.master_name; }
  // +switch-master announcements for this master.
  uint64_t switches() const { return switches_; }

 private:
  // A locator that hands out the sentinels in turn, for the connections to them.
  Locator rotation();
  void ask(std::function<void(Located)> done);
  void on_message(std::string_view channel, std::string_view payload);

  boost::asio::io_context& loop_;
  SentinelSettings settings_;
  std::shared_ptr<Connection> query_;
  std::shared_ptr<Connection> watch_;
  // Locate requests that came while the query connection was still connecting.
  std::vector<std::function<void(Located)>> waiting_;
  std::function<void(const std::string&, uint16_t)> switch_handler_;
  bool started_ = false;
  uint64_t switches_ = 0;
};

}  // namespace herald::redis
