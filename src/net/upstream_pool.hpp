// Idle keep-alive connections to other Herald processes, one pool per loop (an Asio service of the
// loop's io_context, so it dies with it), so that forwarding the requests of a round-robin balancer
// does not open a TCP connection per request. Used on its loop's thread only: no locking.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace herald::net {

class UpstreamPool : public boost::asio::execution_context::service {
 public:
  using tcp = boost::asio::ip::tcp;
  static boost::asio::execution_context::id id;

  explicit UpstreamPool(boost::asio::execution_context& context);
  // The pool of the loop that runs `executor`.
  static UpstreamPool& of(const boost::asio::any_io_executor& executor);

  // An idle connection to `owner` that still looks open, if there is one.
  std::optional<tcp::socket> take(const tcp::endpoint& owner);
  // Keeps a connection that ended an exchange cleanly for the next request (closes it if full).
  void give_back(const tcp::endpoint& owner, tcp::socket socket);

 private:
  struct Idle;
  void shutdown() override;
  void discard(const tcp::endpoint& owner, const Idle* idle);

  std::map<tcp::endpoint, std::vector<std::shared_ptr<Idle>>> idle_;
};

}  // namespace herald::net
