// Operations endpoints: GET /health (liveness), GET /ready (readiness, with the state of each
// dependency: serving alone while Redis is down is "degraded", not down), GET /metrics
// (Prometheus text format).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include "codec/json.hpp"

#include "net/http.hpp"

namespace herald::api {

class HealthApi {
 public:
  // `redis_status`: the cluster's Redis state, or null when not clustered.
  explicit HealthApi(std::function<herald::Json()> redis_status = nullptr, std::string metrics_token = {})
      : redis_status_(std::move(redis_status)), metrics_token_(std::move(metrics_token)) {}
  void attach(net::HttpRouter& router);
  // Readiness turns to "stopping" (503) so balancers stop sending new clients during shutdown.
  void set_stopping() { stopping_ = true; }
  // Lines /metrics adds after the process-wide ones (set before the loops run).
  void set_extra_metrics(std::function<std::string()> extra) { extra_metrics_ = std::move(extra); }

 private:
  void handle(const std::shared_ptr<net::HttpExchange>& exchange);

  std::function<herald::Json()> redis_status_;
  std::string metrics_token_;  // /metrics needs `Authorization: Bearer <it>` when set
  std::atomic<bool> stopping_{false};
  std::function<std::string()> extra_metrics_;
};

}  // namespace herald::api
