// Which sockets a push selects by their user: the filter a push's target carries, rebuilt from the
// flags that travel with it to the other nodes (Namespace's filter factory).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "socketio/socket.hpp"

namespace herald::push {

// The filter `flags` ("heraldFilter": "users" or "loggedIn") names for a push to `rooms`; null
// for flags that name none.
std::function<bool(const socketio::Socket&)> push_filter(const socketio::Json& flags,
                                                         const std::vector<std::string>& rooms);

}  // namespace herald::push
