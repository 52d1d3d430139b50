// Herald's settings: defaults, then a TOML file (--config), then HERALD_* environment variables,
// then command-line flags; each later source overrides the earlier ones. Every setting has one
// name used in all three: `ping_interval_ms` in TOML, HERALD_PING_INTERVAL_MS, --ping-interval-ms.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace herald::app {

struct Settings {
  std::string host = "0.0.0.0";
  uint16_t port = 1994;
  size_t threads = 0;  // 0: one per core
  std::string log_level = "info";
  std::string log_format = "text";  // text | json (one object per line)
  std::string path = "/socket.io/";
  uint64_t ping_interval_ms = 15000;  // the seed's values
  uint64_t ping_timeout_ms = 20000;
  uint64_t connect_timeout_ms = 45000;
  uint64_t max_payload = 1000000;
  uint64_t max_buffered_bytes = 4000000;
  bool allow_eio3 = true;                // socket.io-client 2.x (Engine.IO v3, Socket.IO protocol v4) too
  std::string parser = "auto";           // auto (told per connection), default or msgpack
  uint64_t recovery_window_ms = 120000;  // connection state recovery (0: off), as socket.io's default
  uint64_t recovery_max_bytes = 64ULL << 20;
  std::vector<std::string> cors_origins;
  std::string push_namespace = "/";
  bool single_session = false;
  uint64_t ack_timeout_ms = 10000;
  std::string api_token;
  std::string login_webhook;
  uint64_t message_ttl_ms = 86400000;  // acked pushes kept for users who have not acked (0: not kept)
  size_t max_pending_per_user = 1000;
  uint64_t max_pending_bytes = 256ULL << 20;
  std::string receipt_webhook;
  std::string client_auth = "none";  // none | jwt | webhook
  std::string auth_webhook;          // client_auth webhook: the backend's URL
  uint64_t auth_webhook_timeout_ms = 3000;
  std::vector<std::string> trusted_proxies;  // CIDRs whose X-Forwarded-For gives the client address
  std::string metrics_token;
  std::string tls_cert;               // PEM certificate chain: the port speaks only TLS when set (with tls_key)
  std::string tls_key;                // its PEM private key
  bool proxy_protocol = false;        // trusted proxies send a PROXY protocol header (v1 or v2)
  size_t max_connections_per_ip = 0;  // open HTTP connections per client address (0: no limit)
  uint64_t http_header_timeout_ms = 10000;
  std::string jwt_secret;
  std::string jwt_public_key;  // a PEM file
  uint64_t max_api_body = 1000000;
  uint64_t shutdown_grace_ms = 3000;
  std::string redis;                         // redis://[[user]:pass@]host:port[/db], rediss:// for TLS
  std::string redis_prefix = "socket.io";    // channel prefix, as @socket.io/redis-adapter's `key`
  std::vector<std::string> redis_sentinels;  // host:port of the sentinels (instead of redis)
  std::string redis_master_name;             // the master set the sentinels watch
  std::string redis_sentinel_username;       // the sentinels' own credentials
  std::string redis_sentinel_password;
  std::vector<std::string> redis_cluster;  // host:port of some Redis Cluster nodes (instead of redis)
  std::string redis_username;              // credentials of the servers sentinels (or the cluster) name
  std::string redis_password;
  std::string advertise_host = "127.0.0.1";  // where other processes reach this one's sessions
  uint16_t internal_port = 0;                // port for that (0: any free one)
  size_t workers = 1;
  uint64_t node_heartbeat_ms = 5000;  // cluster: a node silent for 3 of these is dead
  // Alerts (the seed's monit.js): SMTP and/or a webhook.
  std::string smtp_url;
  std::string smtp_tls = "try";
  bool smtp_insecure = false;
  std::string smtp_user;
  std::string smtp_pass;
  std::string alert_from = "herald@localhost";
  std::vector<std::string> alert_to;
  std::string alert_webhook;
  std::string node_name;                    // names this node in alerts (default: the host name)
  uint64_t monitor_interval_ms = 2000;      // herald monitor: how often to check Redis
  size_t max_sessions_per_ip = 0;           // 0: no limit
  double handshakes_per_ip_per_second = 0;  // 0: no limit (bursts of a few seconds' worth allowed)
  // The official Socket.IO Admin UI (@socket.io/admin-ui): its /admin namespace and its page.
  bool admin_ui = false;
  std::string admin_user;      // none: no login asked
  std::string admin_password;  // in the clear, or a bcrypt hash
  bool admin_read_only = false;
  std::string admin_mode = "development";  // development | production (the stats alone)
  std::string admin_ui_dir;                // the UI's built files (empty: found by the binary)
};

// How a setting's value is written in TOML.
enum class SettingKind { text, number, boolean, list };

// One setting as the three sources name it, with a parser that validates the text form.
struct SettingSpec {
  std::string key;
  std::string help;
  std::function<void(Settings&, const std::string&)> set;  // throws std::invalid_argument
  std::function<std::string(const Settings&)> show;
  SettingKind kind = SettingKind::text;
};

const std::vector<SettingSpec>& setting_specs();

// Whether the settings join a cluster through Redis (one server, sentinels, or a Redis Cluster).
inline bool uses_redis(const Settings& settings) {
  return !settings.redis.empty() || !settings.redis_sentinels.empty() || !settings.redis_cluster.empty();
}

// Every setting as a TOML file, each commented out with its help, its environment variable and
// flag, and its value in `settings` (`herald --print-config` prints it; /etc/herald/herald.toml is
// made by it, so the file shipped lists exactly the settings of the binary).
std::string settings_toml(const Settings& settings);

// Parses argv into settings. Returns nullopt after printing help, the settings (--print-config) or
// an error (exit code in `exit_code`).
std::optional<Settings> load_settings(int argc, char** argv, int& exit_code);
// "herald <version> (build <commit>, <build type>)", as --version prints it and the log starts with.
std::string version_text();

}  // namespace herald::app
