#include "cluster/session_router.hpp"

#include <spdlog/spdlog.h>
#include <charconv>

#include "engineio/server.hpp"

namespace herald::cluster {
namespace {

constexpr auto kAnnounceEvery = std::chrono::seconds(5);
constexpr int kAnnounceTtlSeconds = 20;

std::string key_of(uint32_t process) { return "herald:proc:" + std::to_string(process); }

}  // namespace

SessionRouter::SessionRouter(Cluster& cluster, uint32_t process_tag, std::string host, uint16_t port)
    : cluster_(cluster), process_tag_(process_tag), own_{std::move(host), port} {}

void SessionRouter::start() {
  // At once whenever Redis (re)connects: requests for this process's sessions may already be
  // landing on other nodes, and Redis may have come back empty.
  cluster_.on_connected([self = shared_from_this()] { self->announce(); });
  cluster_.post([self = shared_from_this()] {
    self->timer_ = std::make_unique<boost::asio::steady_timer>(self->cluster_.pool().loop(Cluster::kRedisLoop));
    self->keep_announcing();
  });
}

void SessionRouter::announce() {
  cluster_.command({"SET", key_of(process_tag_), own_.host + ":" + std::to_string(own_.port), "EX",
                    std::to_string(kAnnounceTtlSeconds)},
                   [](const redis::Reply& reply) {
                     if (reply.is_error()) spdlog::debug("session router: announce failed: {}", reply.str);
                   });
}

void SessionRouter::keep_announcing() {
  timer_->expires_after(kAnnounceEvery);
  timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (self->cluster_.connected()) self->announce();
    self->keep_announcing();
  });
}

void SessionRouter::route(const std::shared_ptr<net::HttpExchange>& exchange, uint32_t process) {
  {
    std::lock_guard lock(mutex_);
    if (auto found = known_.find(process); found != known_.end()) return forward(exchange, found->second);
  }
  size_t loop = exchange->loop();
  cluster_.post([self = shared_from_this(), exchange, process, loop] {
    self->cluster_.command({"GET", key_of(process)}, [self, exchange, process, loop](const redis::Reply& reply) {
      Address address;
      if (reply.type == redis::Reply::Type::String) {
        size_t colon = reply.str.rfind(':');
        if (colon != std::string::npos) {
          address.host = reply.str.substr(0, colon);
          std::from_chars(reply.str.data() + colon + 1, reply.str.data() + reply.str.size(), address.port);
        }
      }
      if (address.port != 0) {
        std::lock_guard lock(self->mutex_);
        self->known_[process] = address;
      } else {
        spdlog::debug("session router: no live process {} ({})", process, reply.is_error() ? reply.str : "gone");
      }
      self->cluster_.pool().post(loop, [self, exchange, address] {
        if (address.port == 0) return exchange->respond(engineio::error_response(engineio::ErrorCode::UnknownSid));
        self->forward(exchange, address);
      });
    });
  });
}

void SessionRouter::forward(const std::shared_ptr<net::HttpExchange>& exchange, const Address& address) {
  exchange->tunnel_to(address.host, address.port, engineio::owner_unreachable_response());
}

}  // namespace herald::cluster
