#include "redis/node_group.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>

namespace herald::redis {

NodeGroup::NodeGroup(boost::asio::io_context& loop, Endpoint credentials, Options options,
                     std::function<void()> changed)
    : loop_(loop), credentials_(std::move(credentials)), options_(std::move(options)), changed_(std::move(changed)) {}

NodeGroup::~NodeGroup() {
  for (auto& [address, node] : nodes_) node->stop();
}

Connection& NodeGroup::node(const std::string& address) {
  auto found = nodes_.find(address);
  if (found != nodes_.end()) return *found->second;
  Endpoint endpoint = credentials_;
  std::string error;
  if (auto parsed = parse_address(address, error)) {
    endpoint.host = parsed->host;
    endpoint.port = parsed->port;
  }
  auto connection = Connection::create(loop_, endpoint, options_);
  // The group outlives its connections' handlers: it stops them before it goes.
  connection->on_state([this](State, std::string_view) {
    if (changed_) changed_();
  });
  connection->on_message([this](std::string_view pattern, std::string_view channel, std::string_view payload) {
    if (message_handler_) message_handler_(pattern, channel, payload);
  });
  nodes_.emplace(address, connection);
  if (running_) connection->start();
  return *connection;
}

Connection* NodeGroup::find(const std::string& address) const {
  auto found = nodes_.find(address);
  return found == nodes_.end() ? nullptr : found->second.get();
}

void NodeGroup::retain(const std::vector<std::string>& keep) {
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (std::find(keep.begin(), keep.end(), it->first) != keep.end()) {
      ++it;
      continue;
    }
    // Stopped on a later turn: this may run inside one of its own handlers.
    boost::asio::post(loop_, [connection = it->second] { connection->stop(); });
    it = nodes_.erase(it);
  }
}

void NodeGroup::start() {
  running_ = true;
  for (auto& [address, node] : nodes_) node->start();
}

void NodeGroup::stop() {
  running_ = false;
  for (auto& [address, node] : nodes_) node->stop();
}

State NodeGroup::state_of(const std::vector<std::string>& addresses, std::string& error) const {
  bool connecting = false;
  for (const auto& address : addresses) {
    Connection* node = find(address);
    State state = node ? node->state() : State::Connecting;
    if (state == State::Connected) continue;
    if (state == State::Connecting) {
      connecting = true;
      continue;
    }
    error = address + ": " + (node ? node->last_error() : std::string("no connection"));
    return State::Disconnected;
  }
  if (addresses.empty() || connecting) return State::Connecting;
  return State::Connected;
}

}  // namespace herald::redis
