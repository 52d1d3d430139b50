#include "app/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include "redis/connection.hpp"

namespace herald::app {
namespace {

template <class T>
T parse_number(const std::string& key, const std::string& text, T min, T max) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
    throw std::invalid_argument(key + ": expected a whole number from " + std::to_string(min) + " to " +
                                std::to_string(max) + ", got '" + text + "'");
  return value;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.erase(item.begin());
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.pop_back();
    if (!item.empty()) items.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

template <class T>
SettingSpec number(std::string key, std::string help, T Settings::*field, T min, T max) {
  return SettingSpec{
      key, std::move(help),
      [key, field, min, max](Settings& s, const std::string& text) { s.*field = parse_number<T>(key, text, min, max); },
      [field](const Settings& s) { return std::to_string(s.*field); }, SettingKind::number};
}

SettingSpec boolean(const std::string& key, std::string help, bool Settings::*field) {
  return SettingSpec{key, std::move(help),
                     [key, field](Settings& s, const std::string& v) {
                       if (v == "true" || v == "1")
                         s.*field = true;
                       else if (v == "false" || v == "0")
                         s.*field = false;
                       else
                         throw std::invalid_argument(key + ": expected true or false, got '" + v + "'");
                     },
                     [field](const Settings& s) { return std::string(s.*field ? "true" : "false"); },
                     SettingKind::boolean};
}

SettingSpec list(std::string key, std::string help, std::vector<std::string> Settings::*field) {
  return SettingSpec{std::move(key), std::move(help),
                     [field](Settings& s, const std::string& v) { s.*field = split_list(v); },
                     [field](const Settings& s) { return join_list(s.*field); }, SettingKind::list};
}

// One way to reach Redis, and what it needs.
void check_redis_choice(const Settings& settings) {
  int ways = !settings.redis.empty() + !settings.redis_sentinels.empty() + !settings.redis_cluster.empty();
  if (ways > 1) throw std::invalid_argument("redis, redis_sentinels and redis_cluster: give one of them, not several");
  if (!settings.redis_sentinels.empty() && settings.redis_master_name.empty())
    throw std::invalid_argument("redis_sentinels: needs redis_master_name (the master set the sentinels watch)");
  if (settings.redis_sentinels.empty() && !settings.redis_master_name.empty())
    throw std::invalid_argument("redis_master_name: needs redis_sentinels");
}

// A comma-separated list of host:port, each checked.
SettingSpec address_list(std::string key, std::string help, std::vector<std::string> Settings::*field) {
  return SettingSpec{key, std::move(help),
                     [key, field](Settings& s, const std::string& v) {
                       std::vector<std::string> items = split_list(v);
                       for (const auto& item : items) {
                         std::string error;
                         if (!redis::parse_address(item, error)) throw std::invalid_argument(key + ": " + error);
                       }
                       s.*field = std::move(items);
                     },
                     [field](const Settings& s) { return join_list(s.*field); }, SettingKind::list};
}

void check_url(const std::string& key, const std::string& value, std::initializer_list<const char*> schemes) {
  if (value.empty()) return;
  for (const char* scheme : schemes)
    if (value.starts_with(scheme)) return;
  std::string wanted;
  for (const char* scheme : schemes) wanted += (wanted.empty() ? "" : " or ") + std::string(scheme);
  throw std::invalid_argument(key + ": expected a URL starting with " + wanted + ", got '" + value + "'");
}

SettingSpec text(std::string key, std::string help, std::string Settings::*field,
                 std::function<void(const std::string&)> check = nullptr) {
  return SettingSpec{std::move(key), std::move(help),
                     [field, check = std::move(check)](Settings& s, const std::string& value) {
                       if (check) check(value);
                       s.*field = value;
                     },
                     [field](const Settings& s) { return s.*field; }};
}

void check_log_level(const std::string& value) {
  static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  for (const auto& level : kLevels)
    if (value == level) return;
  throw std::invalid_argument("log_level: expected one of trace, debug, info, warn, error, critical, off; got '" +
                              value + "'");
}

void check_path(const std::string& key, const std::string& value) {
  if (value.empty() || value.front() != '/')
    throw std::invalid_argument(key + ": must start with '/', got '" + value + "'");
}

std::string env_name(const std::string& key) {
  std::string name = "HERALD_";
  for (char c : key) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::string flag_name(const std::string& key) {
  std::string name = "--";
  for (char c : key) name += c == '_' ? '-' : c;
  return name;
}

// TOML values arrive typed; settings parse text, so render them back to text.
std::optional<std::string> toml_to_text(const toml::node& node) {
  // Exact types only: toml++'s value<T>() would turn `true` into 1 and 2000.0 into 2000.
  if (node.is_string()) return *node.value_exact<std::string>();
  if (node.is_integer()) return std::to_string(*node.value_exact<int64_t>());
  if (node.is_boolean()) return *node.value_exact<bool>() ? "true" : "false";
  if (node.is_floating_point()) {
    // Kept a float in text ("2.0", not "2"), so that whole-number settings refuse it.
    std::string text = fmt::format("{}", *node.value_exact<double>());
    if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
    return text;
  }
  if (const auto* array = node.as_array()) {
    std::vector<std::string> items;
    for (const auto& item : *array) {
      auto value = item.value_exact<std::string>();
      if (!value) return std::nullopt;
      items.push_back(*value);
    }
    return join_list(items);
  }
  return std::nullopt;
}

// A value as TOML writes it.
std::string toml_text(const toml::node& node) {
  std::ostringstream text;
  text << toml::toml_formatter(node);
  return text.str();
}

}  // namespace

const std::vector<SettingSpec>& setting_specs() {
  static const std::vector<SettingSpec> specs = {
      text("host", "Address to listen on", &Settings::host),
      number<uint16_t>("port", "Port to listen on", &Settings::port, 0, 65535),
      number<size_t>("threads", "Event loop threads (0: one per core)", &Settings::threads, 0, 256),
      text("log_level", "trace, debug, info, warn, error, critical or off", &Settings::log_level, check_log_level),
      text("log_format", "Log lines as text, or json: one object per line (journald, log shippers)",
           &Settings::log_format,
           [](const std::string& v) {
             if (v != "text" && v != "json")
               throw std::invalid_argument("log_format: expected text or json, got '" + v + "'");
           }),
      text("path", "HTTP path of the Socket.IO endpoint", &Settings::path,
           [](const std::string& v) { check_path("path", v); }),
      number<uint64_t>("ping_interval_ms", "Heartbeat interval", &Settings::ping_interval_ms, 1, 3600000),
      number<uint64_t>("ping_timeout_ms", "Time a client has to answer a heartbeat", &Settings::ping_timeout_ms, 1,
                       3600000),
      number<uint64_t>("connect_timeout_ms", "Time a client has to join a namespace", &Settings::connect_timeout_ms, 1,
                       3600000),
      number<uint64_t>("max_payload", "Largest message or polling body a client may send, in bytes",
                       &Settings::max_payload, 1, 1ULL << 30),
      number<uint64_t>("max_buffered_bytes", "Unsent bytes after which a slow client is disconnected",
                       &Settings::max_buffered_bytes, 1024, 1ULL << 34),
      boolean("allow_eio3", "Also accept socket.io-client 2.x (Engine.IO v3, Socket.IO protocol v4) clients",
              &Settings::allow_eio3),
      text("parser",
           "Socket.IO parser of the clients: auto (told per connection: default or socket.io-msgpack-parser), "
           "default or msgpack (all clients; socket.io-client 2.x with the msgpack parser needs it)",
           &Settings::parser,
           [](const std::string& v) {
             if (v != "auto" && v != "default" && v != "msgpack")
               throw std::invalid_argument("parser: expected auto, default or msgpack, got '" + v + "'");
           }),
      number<uint64_t>("recovery_window_ms",
                       "Connection state recovery: how long a dropped client can come back with its id, rooms, "
                       "login and missed broadcasts (0: off)",
                       &Settings::recovery_window_ms, 0, 86400000),
      number<uint64_t>("recovery_max_bytes", "Memory for the broadcasts kept for recovery, per namespace",
                       &Settings::recovery_max_bytes, 1024, 1ULL << 40),
      list("cors_origins", "Origins allowed by CORS, comma-separated (* for any); none: no CORS headers",
           &Settings::cors_origins),
      text("push_namespace", "Namespace the push API delivers into (the seed used /heikuai)", &Settings::push_namespace,
           [](const std::string& v) { check_path("push_namespace", v); }),
      boolean("single_session", "One socket per user: a new login kicks the older one with repeat(\"-1\", text)",
              &Settings::single_session),
      number<uint64_t>("ack_timeout_ms", "Default wait for delivery receipts (the API's timeout field)",
                       &Settings::ack_timeout_ms, 1, 120000),
      text("api_token", "Token the HTTP API requires (Authorization: Bearer ...) when set", &Settings::api_token),
      text("login_webhook", "URL that gets a JSON POST {uid, socketId, nsp, time} on every login",
           &Settings::login_webhook,
           [](const std::string& v) {
             check_url("login_webhook", v, {"http://", "https://"});
           }),
      number<uint64_t>("message_ttl_ms",
                       "How long an acked push is kept for a user who has not acked it, to be sent again when "
                       "the user is back (0: not kept; a push's ttl field overrides it)",
                       &Settings::message_ttl_ms, 0, 7ULL * 24 * 3600 * 1000),
      number<size_t>("max_pending_per_user", "Kept pushes per user (the oldest go first)",
                     &Settings::max_pending_per_user, 1, 1000000),
      number<uint64_t>("max_pending_bytes", "Memory for kept pushes in all (the oldest go first)",
                       &Settings::max_pending_bytes, 1024, 1ULL << 40),
      list("trusted_proxies",
           "Proxies (CIDRs, comma-separated) whose X-Forwarded-For gives the client address for the per-IP limits",
           &Settings::trusted_proxies),
      text("metrics_token", "Token GET /metrics requires (Authorization: Bearer ...) when set",
           &Settings::metrics_token),
      text("tls_cert",
           "PEM certificate (then its intermediates): the port serves https and wss only (with tls_key); "
           "SIGHUP reloads it (SIGUSR1 to the supervisor with workers)",
           &Settings::tls_cert),
      text("tls_key", "PEM private key of tls_cert", &Settings::tls_key),
      boolean("proxy_protocol",
              "Connections from trusted_proxies start with a PROXY protocol header (v1 or v2, HAProxy's "
              "send-proxy) giving the client address; one without is refused",
              &Settings::proxy_protocol),
      number<size_t>("max_connections_per_ip",
                     "Open HTTP connections (not yet WebSockets) allowed from one address (0: no limit; trusted "
                     "proxies are not limited)",
                     &Settings::max_connections_per_ip, 0, 10000000),
      number<uint64_t>("http_header_timeout_ms",
                       "Time a request's header (and a connection's PROXY header and TLS handshake) may take",
                       &Settings::http_header_timeout_ms, 100, 3600000),
      text("client_auth",
           "How clients prove who they are: none (login(uid) is trusted, the seed's way), jwt (a token in "
           "auth {token} or ?token=, logged in as its sub) or webhook (auth_webhook says who)",
           &Settings::client_auth,
           [](const std::string& v) {
             if (v != "none" && v != "jwt" && v != "webhook")
               throw std::invalid_argument("client_auth: expected none, jwt or webhook, got '" + v + "'");
           }),
      text("auth_webhook",
           "client_auth webhook: http:// URL that gets a JSON POST {auth, query, headers, address, nsp} per "
           "connection and accepts it with 200 {uid, rooms?}",
           &Settings::auth_webhook, [](const std::string& v) { check_url("auth_webhook", v, {"http://"}); }),
      number<uint64_t>("auth_webhook_timeout_ms", "Time auth_webhook has to answer; then the connection is refused",
                       &Settings::auth_webhook_timeout_ms, 10, 60000),
      text("jwt_secret", "Shared secret for HS256/384/512 tokens (client_auth jwt)", &Settings::jwt_secret),
      text("jwt_public_key", "PEM public key file for RS256/384/512, ES256/384 or EdDSA tokens (client_auth jwt)",
           &Settings::jwt_public_key),
      text("receipt_webhook", "URL that gets JSON POSTs {receipts: [{msgId, uid, ackedAt}]} for pushes acked late",
           &Settings::receipt_webhook,
           [](const std::string& v) {
             check_url("receipt_webhook", v, {"http://", "https://"});
           }),
      number<uint64_t>("max_api_body", "Largest HTTP API request body in bytes", &Settings::max_api_body, 1024,
                       64ULL << 20),
      text("redis", "Join a cluster through Redis: redis://[[user]:password@]host:port[/db] (rediss:// for TLS)",
           &Settings::redis,
           [](const std::string& v) {
             std::string error;
             if (!v.empty() && !redis::parse_url(v, error)) throw std::invalid_argument("redis: " + error);
           }),
      text("redis_prefix", "Redis channel prefix (the redis-adapter's key option)", &Settings::redis_prefix),
      address_list("redis_sentinels",
                   "Join a cluster through the Redis master that these sentinels (host:port,...) name, following "
                   "failovers (instead of redis; needs redis_master_name)",
                   &Settings::redis_sentinels),
      text("redis_master_name", "Name of the master set the sentinels watch", &Settings::redis_master_name),
      text("redis_sentinel_username", "ACL user for the sentinels", &Settings::redis_sentinel_username),
      text("redis_sentinel_password", "Password for the sentinels", &Settings::redis_sentinel_password),
      address_list("redis_cluster",
                   "Join a cluster through a Redis Cluster (Redis 7+), given by some of its nodes (host:port,...): "
                   "sharded pub/sub, as @socket.io/redis-adapter's createShardedAdapter (instead of redis)",
                   &Settings::redis_cluster),
      text("redis_username", "ACL user for the Redis servers the sentinels name, or of the Redis Cluster",
           &Settings::redis_username),
      text("redis_password", "Password for the Redis servers the sentinels name, or of the Redis Cluster",
           &Settings::redis_password),
      text("advertise_host", "Address other Herald processes use to reach this one's sessions",
           &Settings::advertise_host),
      number<uint16_t>("internal_port", "Port for requests routed from other processes (0: any free port)",
                       &Settings::internal_port, 0, 65535),
      number<size_t>("workers",
                     "Worker processes sharing the port (the supervisor restarts them); needs redis when > 1",
                     &Settings::workers, 1, 256),
      number<uint64_t>("node_heartbeat_ms",
                       "Cluster heartbeat: a node silent for three is dead and its users are removed from Redis",
                       &Settings::node_heartbeat_ms, 50, 600000),
      text("smtp_url", "Alert e-mail server: smtp://host:port or smtps://host:port", &Settings::smtp_url,
           [](const std::string& v) {
             check_url("smtp_url", v, {"smtp://", "smtps://"});
           }),
      text("smtp_tls", "STARTTLS on smtp://: off, try or on", &Settings::smtp_tls,
           [](const std::string& v) {
             if (v != "off" && v != "try" && v != "on")
               throw std::invalid_argument("smtp_tls: expected off, try or on; got '" + v + "'");
           }),
      boolean("smtp_insecure", "Accept any certificate from the SMTP server", &Settings::smtp_insecure),
      text("smtp_user", "SMTP user name", &Settings::smtp_user),
      text("smtp_pass", "SMTP password", &Settings::smtp_pass),
      text("alert_from", "Sender of alert e-mails", &Settings::alert_from),
      list("alert_to", "Recipients of alert e-mails, comma-separated", &Settings::alert_to),
      text("alert_webhook", "URL that gets a JSON POST {kind, state, text, node, time} per alert and recovery",
           &Settings::alert_webhook,
           [](const std::string& v) {
             check_url("alert_webhook", v, {"http://", "https://"});
           }),
      text("node_name", "Name of this node in alerts (default: the host name)", &Settings::node_name),
      number<uint64_t>("monitor_interval_ms", "herald monitor: how often Redis is checked",
                       &Settings::monitor_interval_ms, 100, 3600000),
      number<size_t>("max_sessions_per_ip", "Connections allowed from one address (0: no limit)",
                     &Settings::max_sessions_per_ip, 0, 10000000),
      SettingSpec{
          "handshakes_per_ip_per_second", "New connections per second allowed from one address (0: no limit)",
          [](Settings& s, const std::string& v) {
            size_t used = 0;
            double rate = -1;
            try {
              rate = std::stod(v, &used);
            } catch (const std::exception&) {
            }
            if (used != v.size() || !(rate >= 0))
              throw std::invalid_argument("handshakes_per_ip_per_second: expected a number >= 0, got '" + v + "'");
            s.handshakes_per_ip_per_second = rate;
          },
          [](const Settings& s) { return fmt::format("{}", s.handshakes_per_ip_per_second); }, SettingKind::number},
      number<uint64_t>("shutdown_grace_ms", "Time given to close packets on SIGTERM before exit",
                       &Settings::shutdown_grace_ms, 0, 60000),
      boolean("admin_ui",
              "Serve the Socket.IO Admin UI: the @socket.io/admin-ui protocol on the /admin namespace and its "
              "page at /admin/",
              &Settings::admin_ui),
      text("admin_user", "Admin UI login name (none: the Admin UI asks for no login)", &Settings::admin_user),
      text("admin_password", "Admin UI password, in the clear or as a bcrypt hash ($2a$, $2b$ or $2y$)",
           &Settings::admin_password),
      boolean("admin_read_only", "Admin UI shows, but takes no emit, join, leave or disconnect command",
              &Settings::admin_read_only),
      text("admin_mode",
           "development (every socket, room and event is shown) or production (the servers' figures only, "
           "nothing per socket)",
           &Settings::admin_mode,
           [](const std::string& v) {
             if (v != "development" && v != "production")
               throw std::invalid_argument("admin_mode: expected development or production, got '" + v + "'");
           }),
      text("admin_ui_dir",
           "Directory of the Admin UI's built files (empty: /usr/share/herald/admin-ui beside an installed "
           "binary, else the build's node_modules/@socket.io/admin-ui/ui/dist)",
           &Settings::admin_ui_dir),
  };
  return specs;
}

std::string settings_toml(const Settings& settings) {
  std::string out = fmt::format(
      "# Herald's settings, made by `herald --print-config` ({}).\n"
      "# Each setting is commented out with its value; uncomment a line to change it. A setting is\n"
      "# also read from its HERALD_* environment variable and --flag, which override this file.\n",
      version_text());
  for (const auto& spec : setting_specs()) {
    std::string value = spec.show(settings);
    std::string toml_value;
    if (spec.kind == SettingKind::number || spec.kind == SettingKind::boolean) {
      toml_value = value;
    } else if (spec.kind == SettingKind::list) {
      toml::array array;
      for (const auto& item : split_list(value)) array.push_back(item);
      toml_value = toml_text(array);
    } else {
      toml_value = toml_text(toml::value<std::string>(value));  // quoted and escaped
    }
    out += fmt::format("\n# {} [{}, {}]\n# {} = {}\n", spec.help, env_name(spec.key), flag_name(spec.key), spec.key,
                       toml_value);
  }
  return out;
}

std::string version_text() { return std::string("herald ") + HERALD_VERSION + " (build " + HERALD_BUILD + ")"; }

std::optional<Settings> load_settings(int argc, char** argv, int& exit_code) {
  const auto& specs = setting_specs();
  CLI::App app{
      "Herald: a real-time push server speaking Socket.IO.\n"
      "Settings come from defaults, then --config FILE (TOML), then HERALD_<NAME> environment\n"
      "variables, then flags; each setting's name is the same in all three.\n"
      "`herald monitor [settings]` instead watches the Redis server given by --redis and alerts\n"
      "(--smtp-url with --alert-to, and/or --alert-webhook) when it fails and when it recovers."};
  app.get_formatter()->column_width(34);
  app.set_version_flag("--version", version_text(), "Print the version and build, then exit");
  bool print_config = false;
  app.add_flag("--print-config", print_config,
               "Print every setting as a TOML file, commented out, with the value it has here (the "
               "defaults unless set), then exit");
  std::string config_file;
  app.add_option("--config", config_file, "TOML file with settings (keys as the flag names, with _)")
      ->check(CLI::ExistingFile);
  std::vector<std::string> flag_values(specs.size());
  std::vector<CLI::Option*> flags;
  Settings defaults;
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string description = specs[i].help + " [" + env_name(specs[i].key) + "]";
    std::string shown = specs[i].show(defaults);
    if (!shown.empty()) description += " (default: " + shown + ")";
    flags.push_back(app.add_option(flag_name(specs[i].key), flag_values[i], description));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help is a success; every refused command line exits 2, whatever CLI11's own code.
    exit_code = app.exit(e) == 0 ? 0 : 2;
    return std::nullopt;
  }

  Settings settings;
  try {
    if (!config_file.empty()) {
      toml::table table = toml::parse_file(config_file);
      for (const auto& [key, node] : table) {
        std::string_view name = key.str();
        auto spec = std::find_if(specs.begin(), specs.end(), [name](const SettingSpec& s) { return s.key == name; });
        if (spec == specs.end())
          throw std::invalid_argument(config_file + ": unknown setting '" + std::string(key.str()) + "'");
        auto value = toml_to_text(node);
        if (!value)
          throw std::invalid_argument(config_file + ": " + std::string(key.str()) + " has an unsupported type");
        spec->set(settings, *value);
      }
    }
    for (const auto& spec : specs)
      if (const char* value = std::getenv(env_name(spec.key).c_str())) spec.set(settings, value);
    for (size_t i = 0; i < specs.size(); ++i)
      if (flags[i]->count() > 0) specs[i].set(settings, flag_values[i]);
    check_redis_choice(settings);
    if (settings.admin_user.empty() != settings.admin_password.empty())
      throw std::invalid_argument("admin_user and admin_password go together: set both, or neither");
  } catch (const toml::parse_error& e) {
    std::cerr << "herald: " << config_file << ": " << e.description() << " at line " << e.source().begin.line << "\n";
    exit_code = 2;
    return std::nullopt;
  } catch (const std::invalid_argument& e) {
    std::cerr << "herald: " << e.what() << "\n";
    exit_code = 2;
    return std::nullopt;
  }
  exit_code = 0;
  if (print_config) {
    std::cout << settings_toml(settings);
    return std::nullopt;
  }
  return settings;
}

}  // namespace herald::app
