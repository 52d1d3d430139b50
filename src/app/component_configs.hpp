// What each part of the server is configured with, read from the settings (checked when loaded):
// the Socket.IO server, the push service, the cluster's Redis, the port's TLS certificate and the
// client connections' limits. main.cpp builds the parts with them.
#pragma once

#include <cstdint>
#include <memory>

#include "app/config.hpp"
#include "net/http.hpp"
#include "net/tls.hpp"
#include "notify/alerter.hpp"
#include "push/config.hpp"
#include "redis/links.hpp"
#include "socketio/server.hpp"

namespace herald::app {

// `process_tag`: this process's mark in session ids (0 without a cluster).
socketio::Config socketio_config(const Settings& settings, uint32_t process_tag);
// `alerter` (may be null) is told when the auth webhook fails. Throws std::invalid_argument when
// client authentication cannot start (no secret or key, a key file that cannot be read).
push::Config push_config(const Settings& settings, notify::Alerter* alerter);
// Where the cluster's Redis is: the URL, the sentinels and the master's name, or the Redis
// Cluster's nodes.
redis::Target redis_target(const Settings& settings);
// The port's certificate, if it speaks TLS (null otherwise); throws std::invalid_argument with the reason.
std::unique_ptr<net::TlsContext> tls_context(const Settings& settings);
net::ConnectionPolicy connection_policy(const Settings& settings);

}  // namespace herald::app
