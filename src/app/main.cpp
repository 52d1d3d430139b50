// herald: the push server. Starts one event loop per core, serves Socket.IO and the push API on
// one port, joins a cluster through Redis when asked, and shuts down gracefully on SIGTERM/SIGINT
// (stop accepting, send close packets, exit 0).
#include <spdlog/spdlog.h>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "api/health.hpp"
#include "api/push_api.hpp"
#include "app/config.hpp"
#include "app/logging.hpp"
#include "app/monitor.hpp"
#include "app/supervisor.hpp"
#include "cluster/cluster.hpp"
#include "cluster/presence.hpp"
#include "cluster/redis_pending_store.hpp"
#include "cluster/session_router.hpp"
#include "engineio/sid.hpp"
#include "net/fd_limit.hpp"
#include "net/listener.hpp"
#include "push/service.hpp"
#include "socketio/server.hpp"

namespace {

using namespace herald;

socketio::Config socketio_config(const app::Settings& settings, uint32_t process_tag) {
  socketio::Config config;
  config.engine.path = settings.path;
  if (config.engine.path.back() != '/') config.engine.path += '/';
  config.engine.ping_interval = std::chrono::milliseconds(settings.ping_interval_ms);
  config.engine.ping_timeout = std::chrono::milliseconds(settings.ping_timeout_ms);
  config.engine.max_payload = settings.max_payload;
  config.engine.max_buffered_bytes = settings.max_buffered_bytes;
  config.engine.allow_eio3 = settings.allow_eio3;
  config.engine.cors_origins = settings.cors_origins;
  config.engine.keep_handshake_headers = false;  // saves memory per connection; the push service needs none
  config.engine.process_tag = process_tag;
  config.engine.max_sessions_per_ip = settings.max_sessions_per_ip;
  config.engine.handshakes_per_ip_per_second = settings.handshakes_per_ip_per_second;
  config.connect_timeout = std::chrono::milliseconds(settings.connect_timeout_ms);
  config.recovery.window = std::chrono::milliseconds(settings.recovery_window_ms);
  config.recovery.max_log_bytes = settings.recovery_max_bytes;
  return config;
}

push::Config push_config(const app::Settings& settings) {
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
  } else {
    spdlog::warn(
        "client_auth none: any client can log in as any user (login(uid) is trusted); "
        "use --client-auth jwt where clients are not trusted");
  }
  return config;
}

// Stops accepting, closes every session with a close packet, and stops the loops once they are
// gone or the grace period ends.
void shut_down(net::LoopPool& pool, socketio::Server& io, std::vector<std::shared_ptr<net::Listener>>& listeners,
               std::chrono::milliseconds grace, const std::function<void()>& before_stop) {
  spdlog::info("shutting down: closing {} sessions", io.engine().live_sessions());
  // Each listener belongs to one loop; stopping it there avoids racing its accept.
  for (auto& listener : listeners) pool.post(listener->loop(), [listener] { listener->stop(); });
  io.close();
  auto now = std::chrono::steady_clock::now();
  auto deadline = now + grace;
  // Requests on connections taken just before the listeners closed are still being answered.
  auto linger_until = now + std::min(grace, std::chrono::milliseconds(250));
  auto timer = std::make_shared<boost::asio::steady_timer>(pool.loop(0));
  auto check = std::make_shared<std::function<void()>>();
  // The pending timer holds the check alive; the check refers to itself weakly, so nothing leaks
  // and nothing is destroyed while it runs.
  *check = [&pool, &io, timer, weak = std::weak_ptr(check), deadline, linger_until, before_stop] {
    auto time = std::chrono::steady_clock::now();
    if ((io.engine().live_sessions() == 0 && time >= linger_until) || time >= deadline) {
      spdlog::info("stopped ({} sessions left)", io.engine().live_sessions());
      if (before_stop) before_stop();
      // Give the last close frames and Redis commands a moment on the wire.
      timer->expires_after(std::chrono::milliseconds(50));
      timer->async_wait([&pool](const boost::system::error_code&) { pool.stop(); });
      return;
    }
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([next = weak.lock()](const boost::system::error_code&) {
      if (next) (*next)();
    });
  };
  pool.post(0, [check] { (*check)(); });
}

size_t thread_count(const app::Settings& settings) {
  return settings.threads ? settings.threads : std::max(1u, std::thread::hardware_concurrency());
}

// `listening_fds`: one listening socket per thread, inherited from the supervisor; empty to open
// them here.
int run_server(const app::Settings& settings, const std::function<void()>& ready,
               const std::vector<int>& listening_fds) {
  auto limit = net::raise_fd_limit();
  size_t threads = thread_count(settings);
  // A few descriptors go to listeners, the event loops, Redis and logs.
  spdlog::info("open-file limit {} (hard {}): about {} concurrent connections", limit.soft, limit.hard,
               limit.soft > 64 + threads * 2 ? limit.soft - 64 - threads * 2 : 0);

  bool clustered = !settings.redis.empty();
  auto alerter = std::make_unique<notify::Alerter>(app::alert_config(settings));
  uint32_t process_tag = clustered ? (engineio::random_u32() | 1) : 0;
  net::LoopPool pool(threads);
  socketio::Server io(pool, socketio_config(settings, process_tag));

  std::unique_ptr<cluster::Cluster> cluster;
  std::shared_ptr<cluster::Presence> presence;
  std::unique_ptr<push::RoomDirectory> directory;
  std::unique_ptr<cluster::RedisPendingStore> pending;
  if (clustered) {
    std::string error;
    cluster::Config cluster_config;
    cluster_config.endpoint = *redis::parse_url(settings.redis, error);
    cluster_config.prefix = settings.redis_prefix;
    cluster = std::make_unique<cluster::Cluster>(pool, cluster_config);
    // With workers, one alert per failure: worker 0 speaks for the others.
    const char* worker = std::getenv("HERALD_WORKER_INDEX");
    if (alerter && (!worker || std::string_view(worker) == "0")) cluster->set_alerter(alerter.get());
    directory = std::make_unique<cluster::RedisRoomDirectory>(*cluster);
    pending = std::make_unique<cluster::RedisPendingStore>(
        *cluster, push::PendingLimits{settings.max_pending_per_user, settings.max_pending_bytes});
  }
  push::Config push_settings;
  try {
    push_settings = push_config(settings);
  } catch (const std::invalid_argument& error) {
    spdlog::critical("{}", error.what());
    return 2;
  }
  cluster::RedisPendingStore* redis_pending = pending.get();
  push::Service service(io, std::move(push_settings), std::move(directory), std::move(pending));
  if (redis_pending)
    redis_pending->on_redeliver([&service](const std::vector<std::string>& uids, bool every_node) {
      if (every_node)
        service.redelivery().announce(uids);
      else
        service.redelivery().deliver_to_local(uids);
    });
  api::PushApi push_api(service, api::Config{settings.api_token, settings.max_api_body, settings.cors_origins});
  api::HealthApi health(cluster ? std::function<nlohmann::json()>([&cluster] { return cluster->status(); })
                                : std::function<nlohmann::json()>(),
                        settings.metrics_token);
  net::HttpRouter router;
  // The last descriptors answer health checks only, so a balancer still hears from a node whose
  // clients took every other one.
  constexpr uint64_t kHealthReserve = 32;
  if (limit.soft > kHealthReserve * 4)
    router.set_descriptor_reserve(static_cast<int>(std::min<uint64_t>(limit.soft - kHealthReserve, INT32_MAX)));
  try {
    router.set_trusted_proxies(net::TrustedProxies(settings.trusted_proxies));
  } catch (const std::invalid_argument& error) {
    spdlog::critical("{}", error.what());
    return 2;
  }
  io.attach(router);
  health.attach(router);
  push_api.attach(router);

  // Taken before the port opens: a SIGTERM that comes as soon as clients can connect is queued for
  // the graceful shutdown below instead of killing the process.
  boost::asio::signal_set signals(pool.loop(0), SIGINT, SIGTERM);
  auto listeners = listening_fds.empty() ? net::listen_on_every_loop(pool, router, settings.host, settings.port)
                                         : net::adopt_on_every_loop(pool, router, listening_fds);
  std::vector<std::shared_ptr<net::Listener>> internal;
  std::shared_ptr<cluster::SessionRouter> session_router;
  if (cluster) {
    cluster->attach(io.of("/"));
    if (settings.push_namespace != "/") cluster->attach(io.of(settings.push_namespace));
    // Requests for sessions of other processes are tunnelled to them through their internal port.
    internal = net::listen_on_every_loop(pool, router, settings.advertise_host, settings.internal_port);
    uint16_t internal_port = internal.front()->port();
    session_router =
        std::make_shared<cluster::SessionRouter>(*cluster, process_tag, settings.advertise_host, internal_port);
    io.engine().on_foreign_session([session_router](const std::shared_ptr<net::HttpExchange>& exchange,
                                                    uint32_t process) { session_router->route(exchange, process); });
    presence = std::make_shared<cluster::Presence>(*cluster, settings.push_namespace,
                                                   settings.advertise_host + ":" + std::to_string(internal_port),
                                                   std::chrono::milliseconds(settings.node_heartbeat_ms));
    service.users().set_presence(presence.get());
    presence->start();
    session_router->start();
    cluster->start();
    spdlog::info("cluster node {} (process {}) via {}, sessions routed through {}:{}", cluster->uid(), process_tag,
                 redis::describe(cluster->config().endpoint), settings.advertise_host, internal_port);
  }
  spdlog::info("{} listening on {}:{} ({} threads, Socket.IO at {}, push namespace {})", app::version_text(),
               settings.host, listeners.front()->port(), threads, io.config().engine.path, settings.push_namespace);

  if (ready) ready();
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("received {}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    health.set_stopping();
    auto all = listeners;
    all.insert(all.end(), internal.begin(), internal.end());
    shut_down(pool, io, all, std::chrono::milliseconds(settings.shutdown_grace_ms), [&] {
      if (presence) presence->forget_node();
    });
  });
  pool.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // `herald monitor ...` watches a Redis server instead of serving (the seed's monit.js).
  bool monitor = argc > 1 && std::string_view(argv[1]) == "monitor";
  if (monitor) {
    argv[1] = argv[0];
    --argc;
    ++argv;
  }
  int exit_code = 0;
  auto settings = app::load_settings(argc, argv, exit_code);
  if (!settings) return exit_code;
  app::setup_logging(settings->log_level);
  if (monitor) return app::run_monitor(*settings);
  if (settings->workers > 1 && settings->redis.empty()) {
    spdlog::critical("--workers {} needs --redis: workers reach each other through Redis", settings->workers);
    return 2;
  }
  if (settings->workers > 1) {
    app::SupervisorOptions options;
    options.workers = settings->workers;
    options.shutdown_grace = std::chrono::milliseconds(settings->shutdown_grace_ms);
    options.alert = [&settings](const std::string& kind, const std::string& text) {
      // Runs in a short-lived child: the supervisor itself keeps no threads.
      notify::Alerter alerter(app::alert_config(*settings));
      alerter.send(kind, kind == "worker_recovered" ? "recovered" : "alert", text);
      alerter.flush();
    };
    // Opened here, before any worker, so that they outlive every worker (see open_listening_socket).
    try {
      uint16_t port = settings->port;
      size_t threads = thread_count(*settings);
      options.inherited_fds.resize(settings->workers);
      for (auto& fds : options.inherited_fds) {
        for (size_t thread = 0; thread < threads; ++thread) {
          fds.push_back(net::open_listening_socket(settings->host, port));
          if (port == 0) port = net::local_port(fds.back());
        }
      }
    } catch (const std::exception& e) {
      spdlog::critical("herald: cannot listen on {}:{}: {}", settings->host, settings->port, e.what());
      return 1;
    }
    return app::supervise(options, [&settings, &options](size_t index, std::function<void()> ready) {
      try {
        return run_server(*settings, ready, options.inherited_fds[index]);
      } catch (const std::exception& e) {
        spdlog::critical("herald worker: {}", e.what());
        return 1;
      }
    });
  }
  try {
    return run_server(*settings, nullptr, {});
  } catch (const std::exception& e) {
    spdlog::critical("herald: {}", e.what());
    return 1;
  }
}
