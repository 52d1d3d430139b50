// herald: the push server. Starts one event loop per core, serves Socket.IO and the push API on
// one port, joins a cluster through Redis when asked, and shuts down gracefully on SIGTERM/SIGINT
// (stop accepting, send close packets, exit 0).
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <csignal>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "admin/admin_ui.hpp"
#include "admin/ui_files.hpp"
#include "api/health.hpp"
#include "api/push_api.hpp"
#include "app/component_configs.hpp"
#include "app/config.hpp"
#include "app/logging.hpp"
#include "app/monitor.hpp"
#include "app/supervisor.hpp"
#include "app/systemd_notify.hpp"
#include "app/worker_exec.hpp"
#include "cluster/cluster.hpp"
#include "cluster/direct_adapter.hpp"
#include "cluster/direct_metrics.hpp"
#include "cluster/direct_server.hpp"
#include "cluster/presence.hpp"
#include "cluster/redis_adapter.hpp"
#include "cluster/redis_pending_store.hpp"
#include "cluster/session_router.hpp"
#include "engineio/sid.hpp"
#include "metrics/metrics.hpp"
#include "net/connection_limits.hpp"
#include "net/fd_limit.hpp"
#include "net/listener.hpp"
#include "net/tls.hpp"
#include "net/transport_counters.hpp"
#include "push/service.hpp"
#include "socketio/server.hpp"

namespace {

using namespace herald;

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

// Reads the certificate again on each signal; a failure keeps the one served and says why.
void reload_on_signal(boost::asio::signal_set& signals, net::TlsContext& tls) {
  signals.async_wait([&signals, &tls](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (auto error = tls.reload()) {
      metrics::global().tls_reload_failures.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("TLS reload (signal {}) failed, still serving the certificate loaded before: {}", signal, *error);
    } else {
      metrics::global().tls_reloads.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("TLS certificate reloaded (signal {}): {}", signal, tls.describe());
    }
    reload_on_signal(signals, tls);
  });
}

// The Admin UI's namespace (before the cluster attaches it); throws std::invalid_argument for
// settings it cannot serve.
std::unique_ptr<admin::AdminUi> admin_ui(const app::Settings& settings, socketio::Server& io, bool clustered,
                                         bool secure) {
  if (!settings.admin_ui) return nullptr;
  admin::Options options;
  if (settings.push_namespace == options.nsp)
    throw std::invalid_argument("admin_ui: the Admin UI's namespace /admin is the push_namespace; choose another");
  options.credentials = admin::Credentials(settings.admin_user, settings.admin_password);
  options.read_only = settings.admin_read_only;
  options.development = settings.admin_mode == "development";
  options.secure = secure;
  // The UI tells servers apart by this id: several nodes may share a host (as socket.io's workers).
  options.server_id = settings.node_name;
  if (options.server_id.empty()) {
    char host[256] = {};
    options.server_id = gethostname(host, sizeof host - 1) == 0 ? host : "localhost";
  }
  if (clustered) options.server_id += "#" + std::to_string(getpid());
  return std::make_unique<admin::AdminUi>(io, std::move(options));
}

// The Admin UI's page at /admin/, when its files are found.
std::unique_ptr<admin::UiFiles> admin_ui_files(const app::Settings& settings, net::HttpRouter& router) {
  std::error_code ec;
  std::string program = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  auto dir = admin::find_ui_dir(settings.admin_ui_dir, program, HERALD_ADMIN_UI_BUILD_DIR);
  if (!dir) {
    spdlog::warn(
        "admin UI: its page is not installed (no /usr/share/herald/admin-ui, no admin_ui_dir), so /admin/ "
        "is not served; the /admin namespace still answers a UI served elsewhere");
    return nullptr;
  }
  auto files = std::make_unique<admin::UiFiles>(*dir);
  files->attach(router, "/admin");
  spdlog::info("admin UI page at /admin/ ({} files from {})", files->count(), *dir);
  return files;
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

  bool clustered = app::uses_redis(settings);
  auto alerter = std::make_unique<notify::Alerter>(app::alert_config(settings));
  uint32_t process_tag = clustered ? (engineio::random_u32() | 1) : 0;
  net::LoopPool pool(threads);
  socketio::Server io(pool, app::socketio_config(settings, process_tag));

  std::unique_ptr<cluster::Cluster> cluster;
  std::shared_ptr<cluster::Presence> presence;
  std::unique_ptr<push::RoomDirectory> directory;
  std::unique_ptr<cluster::RedisPendingStore> pending;
  if (clustered) {
    cluster::Config cluster_config;
    cluster_config.redis = app::redis_target(settings);
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
    // With workers, one alert per failure: worker 0 speaks for the others.
    const char* worker = std::getenv("HERALD_WORKER_INDEX");
    push_settings = app::push_config(settings, !worker || std::string_view(worker) == "0" ? alerter.get() : nullptr);
  } catch (const std::invalid_argument& error) {
    spdlog::critical("{}", error.what());
    return 2;
  }
  cluster::RedisPendingStore* redis_pending = pending.get();
  push::Service service(io, std::move(push_settings), std::move(directory), std::move(pending));
  std::unique_ptr<admin::AdminUi> admin;
  try {
    admin = admin_ui(settings, io, clustered, !settings.tls_cert.empty());
  } catch (const std::invalid_argument& error) {
    spdlog::critical("{}", error.what());
    return 2;
  }
  // A socket that logs in while this node's subscription is not up yet (just started, or Redis
  // came back) misses the word of pushes kept for its user meanwhile: once the subscription has
  // surely settled, every logged-in socket here reads what is pending for it.
  auto settle_timer = std::make_shared<boost::asio::steady_timer>(pool.loop(0));
  if (cluster)
    cluster->on_connected([&pool, settle_timer, &service] {
      pool.post(0, [settle_timer, &service] {
        settle_timer->expires_after(std::chrono::seconds(1));
        settle_timer->async_wait([&service](const boost::system::error_code& ec) {
          if (!ec) service.redelivery().deliver_to_everyone_here();
        });
      });
    });
  if (redis_pending)
    redis_pending->on_redeliver([&service](const std::vector<std::string>& uids, bool every_node) {
      if (every_node)
        service.redelivery().announce(uids);
      else
        service.redelivery().deliver_to_local(uids);
    });
  api::PushApi push_api(service, api::Config{settings.api_token, settings.max_api_body, settings.cors_origins});
  api::HealthApi health(cluster ? std::function<herald::Json()>([&cluster] { return cluster->status(); })
                                : std::function<herald::Json()>(),
                        settings.metrics_token);
  net::HttpRouter router;
  // The last descriptors answer health checks only, so a balancer still hears from a node whose
  // clients took every other one.
  constexpr uint64_t kHealthReserve = 32;
  if (limit.soft > kHealthReserve * 4)
    router.set_descriptor_reserve(static_cast<int>(std::min<uint64_t>(limit.soft - kHealthReserve, INT32_MAX)));
  std::unique_ptr<net::TlsContext> tls;
  try {
    router.set_trusted_proxies(net::TrustedProxies(settings.trusted_proxies));
    tls = app::tls_context(settings);
  } catch (const std::invalid_argument& error) {
    spdlog::critical("{}", error.what());
    return 2;
  }
  net::ConnectionPolicy client_policy = app::connection_policy(settings);
  client_policy.tls = tls.get();
  io.attach(router);
  health.attach(router);
  // Before the push API, whose route takes every other path.
  std::unique_ptr<admin::UiFiles> admin_files;
  if (admin) {
    try {
      admin_files = admin_ui_files(settings, router);
    } catch (const std::exception& error) {
      spdlog::critical("{}", error.what());
      return 2;
    }
  }
  push_api.attach(router);

  // Taken before the port opens: a SIGTERM that comes as soon as clients can connect is queued for
  // the graceful shutdown below instead of killing the process. A single process (no supervisor)
  // also takes SIGHUP, which would end it: `systemctl reload` must not stop a server.
  bool single_process = listening_fds.empty();
  boost::asio::signal_set signals(pool.loop(0), SIGINT, SIGTERM);
  // With TLS a single process reloads its certificate on SIGHUP instead (below).
  if (single_process && !tls) signals.add(SIGHUP);
  auto listeners = listening_fds.empty()
                       ? net::listen_on_every_loop(pool, router, settings.host, settings.port, client_policy)
                       : net::adopt_on_every_loop(pool, router, listening_fds, client_policy);
  // A worker reloads on SIGUSR1 (the supervisor's SIGHUP replaces workers); one process on either.
  boost::asio::signal_set reload_signals(pool.loop(0));
  if (tls) {
    reload_signals.add(SIGUSR1);
    if (listening_fds.empty()) reload_signals.add(SIGHUP);
    spdlog::info("TLS on port {}: {}", listeners.front()->port(), tls->describe());
    reload_on_signal(reload_signals, *tls);
  }
  std::vector<std::shared_ptr<net::Listener>> internal;
  std::shared_ptr<cluster::SessionRouter> session_router;
  // The internal port serves what the public one does, and the direct links of other nodes.
  net::HttpRouter internal_router;
  std::shared_ptr<cluster::DirectServer> direct_server;
  if (cluster) {
    cluster->attach(io.of("/"));
    if (settings.push_namespace != "/") cluster->attach(io.of(settings.push_namespace));
    if (admin) cluster->attach(admin->nsp());
    auto& push_nsp = io.of(settings.push_namespace);
    // Cluster::attach gave the namespace a RedisAdapter.
    auto push_adapter = static_cast<cluster::RedisAdapter*>(push_nsp.cluster_side().adapter())->shared_from_this();
    health.set_extra_metrics([] { return cluster::direct_metrics().render(); });
    // Pushes to users on other Herald nodes go straight to those nodes (cluster/direct_adapter.hpp).
    auto locator = std::make_shared<cluster::DirectLocator>(*cluster, push_adapter,
                                                            std::chrono::milliseconds(settings.node_heartbeat_ms));
    locator->start();
    push_nsp.cluster_side().set_adapter(
        std::make_shared<cluster::DirectAdapter>(pool, push_nsp, push_adapter, locator, settings.api_token));
    direct_server = std::make_shared<cluster::DirectServer>(pool, push_nsp, settings.api_token);
    internal_router.add(
        cluster::DirectServer::kPath, 1024,
        [direct_server](const std::shared_ptr<net::HttpExchange>& exchange) { direct_server->accept(exchange); });
    io.attach(internal_router);
    health.attach(internal_router);
    push_api.attach(internal_router);
    // Requests for sessions of other processes are tunnelled to them through their internal port.
    // Plain HTTP from other Herald processes: no TLS, no PROXY header, no per-address limit; their
    // pooled connections may idle up to half a minute.
    net::ConnectionPolicy internal_policy;
    internal_policy.header_timeout = std::chrono::seconds(30);
    internal = net::listen_on_every_loop(pool, internal_router, settings.advertise_host, settings.internal_port,
                                         internal_policy);
    uint16_t internal_port = internal.front()->port();
    session_router =
        std::make_shared<cluster::SessionRouter>(*cluster, process_tag, settings.advertise_host, internal_port);
    io.engine().on_foreign_session([session_router](const std::shared_ptr<net::HttpExchange>& exchange,
                                                    uint32_t process) { session_router->route(exchange, process); });
    presence = std::make_shared<cluster::Presence>(
        *cluster, settings.push_namespace, settings.advertise_host + ":" + std::to_string(internal_port),
        std::chrono::milliseconds(settings.node_heartbeat_ms), std::chrono::milliseconds(settings.recovery_window_ms));
    service.set_presence(presence.get());
    presence->start();
    session_router->start();
    cluster->start();
    spdlog::info("cluster node {} (process {}) via {}, sessions routed through {}:{}", cluster->uid(), process_tag,
                 redis::describe(cluster->config().redis), settings.advertise_host, internal_port);
  }
  spdlog::info("{} listening on {}:{} ({} threads, Socket.IO at {}, push namespace {})", app::version_text(),
               settings.host, listeners.front()->port(), threads, io.config().engine.path, settings.push_namespace);

  if (admin) admin->start();
  if (ready) ready();
  app::notify_systemd(fmt::format("READY=1\nSTATUS={}, {} threads", app::version_text(), threads));
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      spdlog::warn(
          "received SIGHUP: a single process has nothing to reload (run --workers 2 or more to replace "
          "workers with the installed binary); ignored");
      signals.async_wait(on_signal);
      return;
    }
    spdlog::info("received {}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    app::notify_systemd("STOPPING=1");
    health.set_stopping();
    if (admin) admin->stop();
    auto all = listeners;
    all.insert(all.end(), internal.begin(), internal.end());
    shut_down(pool, io, all, std::chrono::milliseconds(settings.shutdown_grace_ms), [&] {
      if (presence) presence->forget_node();
    });
  };
  signals.async_wait(on_signal);
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
  app::setup_logging(settings->log_level, settings->log_format);
  net::count_transport_into(metrics::global().transport);  // /metrics shows what the library counts
  if (monitor) return app::run_monitor(*settings);
  // A worker that the supervisor started afresh (worker_exec.hpp): it serves on the sockets it
  // was given, whatever the settings say about workers.
  try {
    if (auto worker = app::inherited_worker(app::version_text())) {
      settings->threads = worker->listen_fds.size();
      return run_server(*settings, worker->ready, worker->listen_fds);
    }
  } catch (const std::exception& e) {
    spdlog::critical("herald worker: {}", e.what());
    return 1;
  }
  if (settings->workers > 1 && !app::uses_redis(*settings)) {
    spdlog::critical("--workers {} needs --redis: workers reach each other through Redis", settings->workers);
    return 2;
  }
  try {
    app::tls_context(*settings);  // a certificate that cannot serve stops the start, before any worker
  } catch (const std::invalid_argument& error) {
    spdlog::critical("{}", error.what());
    return 2;
  }
  // A TLS write to a client that went away must fail with EPIPE, not kill the process (OpenSSL
  // writes with write(2), which has no MSG_NOSIGNAL).
  ::signal(SIGPIPE, SIG_IGN);
  if (settings->workers > 1) {
    app::SupervisorOptions options;
    options.workers = settings->workers;
    options.shutdown_grace = std::chrono::milliseconds(settings->shutdown_grace_ms);
    // Workers run the binary installed at this path when they start, so a reload (SIGHUP) after an
    // upgrade brings up the new version.
    options.worker_command = app::this_program(argc, argv);
    options.version = app::version_text();
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
    return app::supervise(options, [&settings, &options](size_t index, const std::function<void()>& ready) {
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
