#include "socketio/server.hpp"

#include "engineio/sid.hpp"
#include "socketio/client.hpp"

namespace herald::socketio {

Server::Server(net::LoopPool& pool, Config config)
    : pool_(pool),
      config_(std::move(config)),
      engine_(pool, config_.engine, [this](const std::shared_ptr<engineio::Session>& session) {
        auto client = std::make_shared<Client>(*this, *session);
        session->set_handler(client);
        client->start();
      }) {
  // Ack ids from different nodes meet on one socket in a cluster: start each node at a random
  // point (below 2^53, the largest integer JavaScript holds exactly) so they do not collide.
  ack_ids_ = (uint64_t{engineio::random_u32()} << 16) & ((uint64_t{1} << 53) - 1);
  of("/");
}

Namespace& Server::of(const std::string& name) {
  std::lock_guard lock(namespaces_mutex_);
  auto& slot = namespaces_[name];
  if (!slot) slot = std::make_unique<Namespace>(*this, name, pool_.size());
  return *slot;
}

Namespace* Server::find(std::string_view name) {
  std::lock_guard lock(namespaces_mutex_);
  auto found = namespaces_.find(name);
  return found == namespaces_.end() ? nullptr : found->second.get();
}

std::vector<Namespace*> Server::namespaces() {
  std::lock_guard lock(namespaces_mutex_);
  std::vector<Namespace*> all;
  all.reserve(namespaces_.size());
  for (auto& [name, nsp] : namespaces_) all.push_back(nsp.get());
  return all;
}

void Server::set_observer(ServerObserver* observer) {
  observer_ = observer;
  traffic_ = observer ? std::make_unique<LoopTraffic[]>(pool_.size()) : nullptr;
}

void Server::attach(net::HttpRouter& router) {
  router.add(config_.engine.path, config_.engine.max_payload,
             [this](std::shared_ptr<net::HttpExchange> exchange) { engine_.handle(exchange); });
}

void Server::close() { engine_.close_all(DisconnectReason::ServerShuttingDown); }

}  // namespace herald::socketio
