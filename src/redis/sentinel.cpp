#include "redis/sentinel.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <charconv>

namespace herald::redis {
namespace {

constexpr const char* kSwitchMaster = "+switch-master";

Options sentinel_options() {
  Options options;
  options.connect_timeout = std::chrono::milliseconds(1000);
  options.command_timeout = std::chrono::milliseconds(1000);
  options.reconnect_min = std::chrono::milliseconds(50);
  options.reconnect_max = std::chrono::milliseconds(1000);
  options.ping_interval = std::chrono::milliseconds(1000);
  return options;
}

bool parse_port(std::string_view text, uint16_t& port) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc() && end == text.data() + text.size() && port != 0;
}

}  // namespace

std::shared_ptr<Sentinel> Sentinel::create(boost::asio::io_context& loop, SentinelSettings settings) {
  return std::make_shared<Sentinel>(loop, std::move(settings));
}

Sentinel::Sentinel(boost::asio::io_context& loop, SentinelSettings settings)
    : loop_(loop), settings_(std::move(settings)) {}

Locator Sentinel::rotation() {
  auto next = std::make_shared<size_t>(0);
  return [sentinels = settings_.sentinels, next](const std::function<void(Located)>& done) {
    const Endpoint& sentinel = sentinels[(*next)++ % sentinels.size()];
    done(Located{sentinel.host, sentinel.port, ""});
  };
}

void Sentinel::start() {
  if (started_ || settings_.sentinels.empty()) return;
  started_ = true;
  Options options = sentinel_options();
  options.locate = rotation();
  query_ = Connection::create(loop_, settings_.sentinels.front(), options);
  options.locate = rotation();
  watch_ = Connection::create(loop_, settings_.sentinels.front(), options);
  std::weak_ptr<Sentinel> weak = weak_from_this();
  query_->on_state([weak](State state, std::string_view error) {
    auto self = weak.lock();
    if (!self || state == State::Connecting) return;
    // Whoever waited gets the answer, or the reason there is none yet.
    for (auto& done : std::exchange(self->waiting_, {})) {
      if (state == State::Connected)
        self->ask(std::move(done));
      else
        done(Located{"", 0, "no sentinel answers: " + std::string(error)});
    }
  });
  watch_->on_message([weak](std::string_view, std::string_view channel, std::string_view payload) {
    if (auto self = weak.lock()) self->on_message(channel, payload);
  });
  watch_->subscribe(kSwitchMaster);
  query_->start();
  watch_->start();
}

void Sentinel::stop() {
  if (!started_) return;
  started_ = false;
  query_->stop();
  watch_->stop();
  for (auto& done : std::exchange(waiting_, {})) done(Located{"", 0, "stopped"});
}

void Sentinel::locate(std::function<void(Located)> done) {
  if (!started_) {
    boost::asio::post(loop_, [done = std::move(done)] { done(Located{"", 0, "sentinel discovery stopped"}); });
    return;
  }
  if (query_->state() == State::Connecting) {
    waiting_.push_back(std::move(done));
    return;
  }
  if (query_->state() != State::Connected) {
    boost::asio::post(loop_, [done = std::move(done), error = "no sentinel answers: " + query_->last_error()] {
      done(Located{"", 0, error});
    });
    return;
  }
  ask(std::move(done));
}

void Sentinel::ask(std::function<void(Located)> done) {
  query_->command(
      {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", settings_.master_name},
      [name = settings_.master_name, sentinel = query_->server(), done = std::move(done)](const Reply& reply) {
        Located located;
        if (reply.is_error()) {
          located.error = "sentinel " + sentinel + ": " + reply.str;
        } else if (reply.type != Reply::Type::Array || reply.elements.size() != 2 ||
                   !parse_port(reply.elements[1].str, located.port)) {
          located.error = "sentinel " + sentinel + " knows no master named '" + name + "'";
        } else {
          located.host = reply.elements[0].str;
        }
        done(std::move(located));
      });
}

Locator Sentinel::locator() {
  return [weak = weak_from_this()](std::function<void(Located)> done) {
    auto self = weak.lock();
    if (!self) return done(Located{"", 0, "sentinel discovery stopped"});
    self->locate(std::move(done));
  };
}

void Sentinel::on_message(std::string_view channel, std::string_view payload) {
  if (channel != kSwitchMaster) return;
  // "<master name> <old ip> <old port> <new ip> <new port>"
  std::vector<std::string_view> words;
  size_t start = 0;
  while (start < payload.size()) {
    size_t space = payload.find(' ', start);
    if (space == std::string_view::npos) space = payload.size();
    if (space > start) words.push_back(payload.substr(start, space - start));
    start = space + 1;
  }
  uint16_t port = 0;
  if (words.size() != 5 || words[0] != settings_.master_name || !parse_port(words[4], port)) return;
  ++switches_;
  spdlog::warn("redis: sentinels moved master '{}' from {}:{} to {}:{}", settings_.master_name, words[1], words[2],
               words[3], words[4]);
  if (switch_handler_) switch_handler_(std::string(words[3]), port);
}

}  // namespace herald::redis
