// Operations endpoints: GET /health (liveness), GET /ready (readiness, with the state of each
// dependency: serving alone while Redis is down is "degraded", not down), GET /metrics
// (Prometheus text format).
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "net/http.hpp"

namespace herald::api {

class HealthApi {
 public:
  // `redis_status`: the cluster's Redis state, or null when not clustered.
  explicit HealthApi(std::function<nlohmann::json()> redis_status = nullptr, std::string metrics_token = {})
      : redis_status_(std::move(redis_status)), metrics_token_(std::move(metrics_token)) {}
  void attach(net::HttpRouter& router);
  // Readiness turns to "stopping" (503) so balancers stop sending new clients during shutdown.
  void set_stopping() { stopping_ = true; }

 private:
  void handle(const std::shared_ptr<net::HttpExchange>& exchange);

  std::function<nlohmann::json()> redis_status_;
  std::string metrics_token_;  // /metrics needs `Authorization: Bearer <it>` when set
  std::atomic<bool> stopping_{false};
};

}  // namespace herald::api
