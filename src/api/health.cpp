#include "api/health.hpp"

#include <unistd.h>

#include <openssl/crypto.h>

#include "metrics/metrics.hpp"
#include "net/transport_counters.hpp"

namespace herald::api {

void HealthApi::attach(net::HttpRouter& router) {
  for (const char* path : {"/health", "/ready", "/metrics"})
    router.add(
        path, 1024, [this](const std::shared_ptr<net::HttpExchange>& exchange) { handle(exchange); }, true);
}

void HealthApi::handle(const std::shared_ptr<net::HttpExchange>& exchange) {
  const auto& request = exchange->request();
  if (request.method != "GET" && request.method != "HEAD") {
    return exchange->respond(net::HttpResponse::json(405, R"({"error":"takes GET"})").with("Allow", "GET"));
  }
  auto& metrics = metrics::global();
  if (request.path == "/metrics") {
    if (!metrics_token_.empty()) {
      std::string_view given = request.header("authorization");
      std::string expected = "Bearer " + metrics_token_;
      if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), given.size()) != 0)
        return exchange->respond(net::HttpResponse::text(401, "metrics need Authorization: Bearer <metrics token>\n")
                                     .with("WWW-Authenticate", "Bearer"));
    }
    return exchange->respond(net::HttpResponse::text(
        200, metrics::render(extra_metrics_ ? extra_metrics_() : std::string()), "text/plain; version=0.0.4"));
  }
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - metrics.started);
  const auto& transport = net::transport_counters();
  herald::Json body{{"pid", ::getpid()},
                    {"uptimeSeconds", uptime.count()},
                    {"connections",
                     {{"polling", transport.polling_sessions.load(std::memory_order_relaxed)},
                      {"websocket", transport.websocket_sessions.load(std::memory_order_relaxed)}}}};
  if (request.path == "/health") {
    body["status"] = "ok";
    return exchange->respond(net::HttpResponse::json(200, body.dump()));
  }
  if (request.path == "/ready") {
    std::string status = "ready";
    if (redis_status_) {
      herald::Json redis = redis_status_();
      bool up = redis.value("commands", "") == "connected" && redis.value("subscriptions", "") == "connected";
      if (!up || redis.value("role", "") != "master") status = "degraded";
      body["redis"] = std::move(redis);
    } else {
      body["redis"] = {{"configured", false}};
    }
    if (stopping_) status = "stopping";
    body["status"] = status;
    // Degraded still serves this node's clients, so it stays in the balancer's rotation.
    return exchange->respond(net::HttpResponse::json(status == "stopping" ? 503 : 200, body.dump()));
  }
  exchange->respond(net::HttpResponse::json(404, R"({"error":"not found"})"));
}

}  // namespace herald::api
