#include "socketio/server.hpp"

#include "socketio/client.hpp"

namespace herald::socketio {

Server::Server(net::LoopPool& pool, Config config)
    : pool_(pool),
      config_(std::move(config)),
      engine_(pool, config_.engine, [this](const std::shared_ptr<engineio::Session>& session) {
        auto client = std::make_shared<Client>(*this, session);
        session->set_handler(client);
        client->start();
      }) {
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

void Server::attach(net::HttpRouter& router) {
  router.add(config_.engine.path, config_.engine.max_payload,
             [this](std::shared_ptr<net::HttpExchange> exchange) { engine_.handle(exchange); });
}

void Server::close() { engine_.close_all("server shutting down"); }

}  // namespace herald::socketio
