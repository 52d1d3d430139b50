#include "app/component_configs.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "auth/auth_webhook.hpp"
#include "auth/jwt.hpp"
#include "net/connection_limits.hpp"
#include "redis/connection.hpp"

namespace herald::app {

socketio::Config socketio_config(const Settings& settings, uint32_t process_tag) {
  socketio::Config config;
  config.engine.path = settings.path;
  if (config.engine.path.back() != '/') config.engine.path += '/';
  config.engine.ping_interval = std::chrono::milliseconds(settings.ping_interval_ms);
  config.engine.ping_timeout = std::chrono::milliseconds(settings.ping_timeout_ms);
  config.engine.max_payload = settings.max_payload;
  config.engine.max_buffered_bytes = settings.max_buffered_bytes;
  config.engine.allow_eio3 = settings.allow_eio3;
  config.parser = settings.parser == "msgpack"   ? socketio::ParserMode::Msgpack
                  : settings.parser == "default" ? socketio::ParserMode::Default
                                                 : socketio::ParserMode::Auto;
  config.engine.cors_origins = settings.cors_origins;
  // Saves memory per connection; only the auth webhook, which is sent them, needs them.
  config.engine.keep_handshake_headers = settings.client_auth == "webhook";
  config.engine.process_tag = process_tag;
  config.engine.max_sessions_per_ip = settings.max_sessions_per_ip;
  config.engine.handshakes_per_ip_per_second = settings.handshakes_per_ip_per_second;
  config.connect_timeout = std::chrono::milliseconds(settings.connect_timeout_ms);
  config.recovery.window = std::chrono::milliseconds(settings.recovery_window_ms);
  config.recovery.max_log_bytes = settings.recovery_max_bytes;
  return config;
}

push::Config push_config(const Settings& settings, notify::Alerter* alerter) {
  push::Config config;
  config.nsp = settings.push_namespace;
  config.single_session = settings.single_session;
  config.default_ack_timeout = std::chrono::milliseconds(settings.ack_timeout_ms);
  config.login_webhook = settings.login_webhook;
  config.message_ttl = std::chrono::milliseconds(settings.message_ttl_ms);
  config.max_pending_per_user = settings.max_pending_per_user;
  config.max_pending_bytes = settings.max_pending_bytes;
  config.receipt_webhook = settings.receipt_webhook;
  if (settings.client_auth == "jwt") {
    std::string pem;
    if (!settings.jwt_public_key.empty()) {
      std::ifstream file(settings.jwt_public_key);
      if (!file) throw std::invalid_argument("jwt_public_key: cannot read " + settings.jwt_public_key);
      pem.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
    try {
      config.jwt = std::make_shared<auth::JwtVerifier>(settings.jwt_secret, pem);
    } catch (const std::invalid_argument& error) {
      throw std::invalid_argument(std::string("client_auth jwt: ") + error.what() +
                                  " (set jwt_secret and/or jwt_public_key)");
    }
  } else if (settings.client_auth == "webhook") {
    if (settings.auth_webhook.empty())
      throw std::invalid_argument("client_auth webhook needs auth_webhook (the backend's http:// URL)");
    auto webhook = std::make_shared<auth::AuthWebhook>(settings.auth_webhook,
                                                       std::chrono::milliseconds(settings.auth_webhook_timeout_ms));
    webhook->set_alerter(alerter);
    config.auth_webhook = std::move(webhook);
  } else {
    spdlog::warn(
        "client_auth none: any client can log in as any user (login(uid) is trusted); "
        "use --client-auth jwt or webhook where clients are not trusted");
  }
  return config;
}

redis::Target redis_target(const Settings& settings) {
  redis::Target target;
  std::string error;
  if (!settings.redis.empty()) {
    target.endpoint = *redis::parse_url(settings.redis, error);
    return target;
  }
  target.endpoint.username = settings.redis_username;
  target.endpoint.password = settings.redis_password;
  target.cluster = settings.redis_cluster;
  target.sentinel.master_name = settings.redis_master_name;
  for (const auto& address : settings.redis_sentinels) {
    redis::Endpoint sentinel = *redis::parse_address(address, error);
    sentinel.username = settings.redis_sentinel_username;
    sentinel.password = settings.redis_sentinel_password;
    target.sentinel.sentinels.push_back(std::move(sentinel));
  }
  return target;
}

std::unique_ptr<net::TlsContext> tls_context(const Settings& settings) {
  if (settings.tls_cert.empty() && settings.tls_key.empty()) return nullptr;
  if (settings.tls_cert.empty() || settings.tls_key.empty())
    throw std::invalid_argument("tls_cert and tls_key go together: set both, or neither");
  return std::make_unique<net::TlsContext>(settings.tls_cert, settings.tls_key);
}

net::ConnectionPolicy connection_policy(const Settings& settings) {
  net::ConnectionPolicy policy;
  policy.header_timeout = std::chrono::milliseconds(settings.http_header_timeout_ms);
  policy.proxy_protocol = settings.proxy_protocol;
  if (settings.max_connections_per_ip > 0)
    policy.per_address = std::make_shared<net::ConnectionsPerAddress>(settings.max_connections_per_ip);
  if (settings.proxy_protocol && settings.trusted_proxies.empty())
    spdlog::warn("proxy_protocol is on but trusted_proxies is empty: no connection's PROXY header is read");
  return policy;
}

}  // namespace herald::app
