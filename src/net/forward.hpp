// Forwards one HTTP request to the process that owns its session and brings back the answer, so
// that the client's connection stays with the process it reached: a keep-alive connection (a
// browser's, a balancer's pooled one) carries requests for sessions of any process.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/http.hpp"

namespace herald::net {

// One request in flight to its owner.
class Forward {
 public:
  virtual ~Forward() = default;
  // The client went away: close the connection to the owner (which sees the abort, as it would
  // directly) and never call back.
  virtual void cancel() = 0;
};

// The owner's response, or nullopt if it could not be reached or did not answer properly.
using ForwardDone = std::function<void(std::optional<HttpResponse>)>;

// Sends `request` to host:port over an idle connection of the loop's pool (or a new one) and calls
// `done` once, later, on `executor`, unless cancelled. Waits for the answer as long as the owner
// takes: a long-poll lasts up to the owner's pingInterval.
std::shared_ptr<Forward> forward_request(const boost::asio::any_io_executor& executor, const HttpRequest& request,
                                         const std::string& host, uint16_t port, ForwardDone done);

}  // namespace herald::net
