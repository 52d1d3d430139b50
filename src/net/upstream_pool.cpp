#include "net/upstream_pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <cerrno>
#include <chrono>

namespace herald::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// Bounds the idle connections per owner and loop; busy ones are bounded by the clients they serve.
constexpr size_t kMaxIdlePerOwner = 32;
// The owner closes a connection that sends no request for 30 s (http_connection.cpp): stop
// reusing one well before, so a request never races that close.
constexpr auto kMaxIdle = std::chrono::seconds(15);

// An idle connection has nothing to say: data or EOF waiting on it means it is unusable.
bool quiet(tcp::socket& socket) {
  char byte;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

struct UpstreamPool::Idle {
  tcp::socket socket;
  SteadyClock::time_point since;
};

asio::execution_context::id UpstreamPool::id;

UpstreamPool::UpstreamPool(asio::execution_context& context) : service(context) {}

UpstreamPool& UpstreamPool::of(const asio::any_io_executor& executor) {
  return asio::use_service<UpstreamPool>(asio::query(executor, asio::execution::context));
}

std::optional<tcp::socket> UpstreamPool::take(const tcp::endpoint& owner) {
  auto found = idle_.find(owner);
  if (found == idle_.end()) return std::nullopt;
  auto& list = found->second;
  std::optional<tcp::socket> result;
  // Newest first: the oldest ones are the next to expire.
  while (!list.empty() && !result) {
    std::shared_ptr<Idle> idle = std::move(list.back());
    list.pop_back();
    boost::system::error_code ignored;
    idle->socket.cancel(ignored);  // its wait for the owner's close
    if (SteadyClock::now() - idle->since < kMaxIdle && quiet(idle->socket))
      result.emplace(std::move(idle->socket));
    else
      idle->socket.close(ignored);
  }
  if (list.empty()) idle_.erase(found);
  return result;
}

void UpstreamPool::give_back(const tcp::endpoint& owner, tcp::socket socket) {
  auto& list = idle_[owner];
  if (list.size() >= kMaxIdlePerOwner) {
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  auto idle = std::make_shared<Idle>(Idle{std::move(socket), SteadyClock::now()});
  list.push_back(idle);
  // Drop it as soon as the owner closes it, instead of finding out when a request needs it.
  idle->socket.async_wait(tcp::socket::wait_read,
                          [this, owner, weak = std::weak_ptr<Idle>(idle)](const boost::system::error_code& ec) {
                            if (ec == asio::error::operation_aborted) return;  // taken, or shutting down
                            if (auto entry = weak.lock()) discard(owner, entry.get());
                          });
}

void UpstreamPool::discard(const tcp::endpoint& owner, const Idle* idle) {
  auto found = idle_.find(owner);
  if (found == idle_.end()) return;
  auto& list = found->second;
  auto it = std::find_if(list.begin(), list.end(), [idle](const auto& entry) { return entry.get() == idle; });
  if (it == list.end()) return;  // already taken
  boost::system::error_code ignored;
  (*it)->socket.close(ignored);
  list.erase(it);
  if (list.empty()) idle_.erase(found);
}

void UpstreamPool::shutdown() {
  boost::system::error_code ignored;
  for (auto& [owner, list] : idle_)
    for (auto& idle : list) idle->socket.close(ignored);
  idle_.clear();
}

}  // namespace herald::net
