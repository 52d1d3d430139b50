// herald: the push server. Starts one event loop per core, serves Socket.IO on one port, and
// shuts down gracefully on SIGTERM/SIGINT (stop accepting, send close packets, exit 0).
#include <spdlog/spdlog.h>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "api/push_api.hpp"
#include "app/config.hpp"
#include "app/logging.hpp"
#include "net/fd_limit.hpp"
#include "net/listener.hpp"
#include "push/service.hpp"
#include "socketio/server.hpp"

namespace {

using namespace herald;

socketio::Config socketio_config(const app::Settings& settings) {
  socketio::Config config;
  config.engine.path = settings.path;
  if (config.engine.path.back() != '/') config.engine.path += '/';
  config.engine.ping_interval = std::chrono::milliseconds(settings.ping_interval_ms);
  config.engine.ping_timeout = std::chrono::milliseconds(settings.ping_timeout_ms);
  config.engine.max_payload = settings.max_payload;
  config.engine.max_buffered_bytes = settings.max_buffered_bytes;
  config.engine.cors_origins = settings.cors_origins;
  config.engine.keep_handshake_headers = false;  // saves memory per connection; the push service needs none
  config.connect_timeout = std::chrono::milliseconds(settings.connect_timeout_ms);
  return config;
}

// Stops accepting, closes every session with a close packet, and stops the loops once they are
// gone or the grace period ends.
void shut_down(net::LoopPool& pool, socketio::Server& io, std::vector<std::shared_ptr<net::Listener>>& listeners,
               std::chrono::milliseconds grace) {
  spdlog::info("shutting down: closing {} sessions", io.engine().live_sessions());
  for (size_t loop = 0; loop < listeners.size(); ++loop)
    pool.post(loop, [listener = listeners[loop]] { listener->stop(); });
  io.close();
  auto deadline = std::chrono::steady_clock::now() + grace;
  auto timer = std::make_shared<boost::asio::steady_timer>(pool.loop(0));
  auto check = std::make_shared<std::function<void()>>();
  *check = [&pool, &io, timer, check, deadline] {
    if (io.engine().live_sessions() == 0 || std::chrono::steady_clock::now() >= deadline) {
      spdlog::info("stopped ({} sessions left)", io.engine().live_sessions());
      *check = nullptr;  // break the self-reference
      return pool.stop();
    }
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([check](const boost::system::error_code&) {
      if (*check) (*check)();
    });
  };
  // Let the close packets reach the sockets before the first check.
  pool.post(0, [check] { (*check)(); });
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  auto settings = app::load_settings(argc, argv, exit_code);
  if (!settings) return exit_code;
  app::setup_logging(settings->log_level);

  auto limit = net::raise_fd_limit();
  size_t threads = settings->threads ? settings->threads : std::max(1u, std::thread::hardware_concurrency());
  // A few descriptors go to listeners, the event loops and logs.
  spdlog::info("open-file limit {} (hard {}): about {} concurrent connections", limit.soft, limit.hard,
               limit.soft > 64 + threads * 2 ? limit.soft - 64 - threads * 2 : 0);

  try {
    net::LoopPool pool(threads);
    socketio::Server io(pool, socketio_config(*settings));
    push::Config push_config;
    push_config.nsp = settings->push_namespace;
    push_config.single_session = settings->single_session;
    push_config.default_ack_timeout = std::chrono::milliseconds(settings->ack_timeout_ms);
    push_config.login_webhook = settings->login_webhook;
    push::Service service(io, push_config);
    api::PushApi push_api(service, api::Config{settings->api_token, settings->max_api_body});
    net::HttpRouter router;
    io.attach(router);
    push_api.attach(router);
    auto listeners = net::listen_on_every_loop(pool, router, settings->host, settings->port);
    spdlog::info("herald listening on {}:{} ({} threads, Socket.IO at {})", settings->host, listeners.front()->port(),
                 threads, io.config().engine.path);

    boost::asio::signal_set signals(pool.loop(0), SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      spdlog::info("received {}", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      shut_down(pool, io, listeners, std::chrono::milliseconds(settings->shutdown_grace_ms));
    });
    pool.run();
  } catch (const std::exception& e) {
    spdlog::critical("herald: {}", e.what());
    return 1;
  }
  return 0;
}
