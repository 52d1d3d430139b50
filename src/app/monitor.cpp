#include "app/monitor.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "redis/connection.hpp"

namespace herald::app {

notify::AlertConfig alert_config(const Settings& settings) {
  notify::AlertConfig config;
  config.smtp_url = settings.smtp_url;
  config.smtp_tls = settings.smtp_tls;
  config.smtp_insecure = settings.smtp_insecure;
  config.smtp_user = settings.smtp_user;
  config.smtp_pass = settings.smtp_pass;
  config.from = settings.alert_from;
  config.to = settings.alert_to;
  config.webhook = settings.alert_webhook;
  config.node = settings.node_name;
  if (config.node.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) config.node = host;
  }
  return config;
}

int run_monitor(const Settings& settings) {
  std::string error;
  auto endpoint = redis::parse_url(settings.redis, error);
  if (settings.redis.empty() || !endpoint) {
    spdlog::critical("herald monitor needs --redis redis://host:port{}", error.empty() ? "" : ": " + error);
    return 2;
  }
  notify::Alerter alerter(alert_config(settings));
  if (!alerter.enabled()) spdlog::warn("no --smtp-url or --alert-webhook: alerts only go to the log");
  std::string where = redis::describe(*endpoint);
  auto interval = std::chrono::milliseconds(settings.monitor_interval_ms);

  boost::asio::io_context loop(1);
  redis::Options options;
  options.command_timeout = std::max(std::chrono::milliseconds(200), interval);
  options.client_name = "herald-monitor";
  auto redis = redis::Connection::create(loop, *endpoint, options);
  redis->on_state([&](redis::State state, std::string_view why) {
    if (state == redis::State::Connected) {
      spdlog::info("monitor: {} reachable", where);
      alerter.resolve("redis_unreachable", "the Redis server " + where + " is reachable again");
    } else if (state == redis::State::Disconnected) {
      alerter.raise("redis_unreachable", "cannot connect to the Redis server " + where + ": " + std::string(why));
    }
  });
  boost::asio::steady_timer timer(loop);
  std::function<void()> check = [&] {
    if (redis->state() == redis::State::Connected) {
      redis->command({"PING"}, [&](const redis::Reply& reply) {
        if (reply.is_error() && redis->state() == redis::State::Connected)
          alerter.raise("redis_error", "Redis server error from " + where + ": " + reply.str);
        else if (!reply.is_error())
          alerter.resolve("redis_error", "the Redis server " + where + " answers normally again");
      });
    }
    timer.expires_after(interval);
    timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) check();
    });
  };
  redis->start();
  check();
  spdlog::info("monitoring {} every {} ms", where, interval.count());
  boost::asio::signal_set signals(loop, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    timer.cancel();
    redis->stop();
    loop.stop();
  });
  loop.run();
  alerter.flush();
  return 0;
}

}  // namespace herald::app
