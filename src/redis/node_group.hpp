// The connections to the masters of a Redis Cluster, one per master (by host:port), all with the
// same credentials and options, and their state taken together: connected when every master's
// connection is, down when one is. Used twice: for commands and for subscriptions.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "redis/connection.hpp"

namespace herald::redis {

class NodeGroup {
 public:
  // `changed` runs whenever one connection's state changes.
  NodeGroup(boost::asio::io_context& loop, Endpoint credentials, Options options, std::function<void()> changed);
  ~NodeGroup();
  NodeGroup(const NodeGroup&) = delete;
  NodeGroup& operator=(const NodeGroup&) = delete;

  // The connection to `address`, started on first use (only while the group runs).
  Connection& node(const std::string& address);
  Connection* find(const std::string& address) const;
  // Stops and forgets the connections to addresses not in `keep`.
  void retain(const std::vector<std::string>& keep);
  void start();
  void stop();
  bool running() const { return running_; }
  void on_message(Connection::MessageHandler handler) { message_handler_ = std::move(handler); }

  // Together: Connected when every one in `addresses` is; else Disconnected (or Connecting while
  // none failed), with the first failure as `error`.
  State state_of(const std::vector<std::string>& addresses, std::string& error) const;
  const std::map<std::string, std::shared_ptr<Connection>>& all() const { return nodes_; }

 private:
  boost::asio::io_context& loop_;
  Endpoint credentials_;
  Options options_;
  std::function<void()> changed_;
  Connection::MessageHandler message_handler_;
  std::map<std::string, std::shared_ptr<Connection>> nodes_;
  bool running_ = false;
};

}  // namespace herald::redis
