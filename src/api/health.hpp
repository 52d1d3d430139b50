// Operations endpoints: GET /health (liveness), GET /ready (readiness, with the state of each
// dependency: serving alone while Redis is down is "degraded", not down), GET /metrics
// (Prometheus text format).
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>

#include "net/http.hpp"

namespace herald::api {

class HealthApi {
 public:
  // `redis_status`: the cluster's Redis state, or null when not clustered.
  explicit HealthApi(std::function<nlohmann::json()> redis_status = nullptr) : redis_status_(std::move(redis_status)) {}
  void attach(net::HttpRouter& router);
  // Readiness turns to "stopping" (503) so balancers stop sending new clients during shutdown.
  void set_stopping() { stopping_ = true; }

 private:
  void handle(const std::shared_ptr<net::HttpExchange>& exchange);

  std::function<nlohmann::json()> redis_status_;
  std::atomic<bool> stopping_{false};
};

}  // namespace herald::api
