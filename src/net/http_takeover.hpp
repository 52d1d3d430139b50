// Hands a plain HTTP connection over to a protocol of the caller's (an HTTP Upgrade other than
// WebSocket): its descriptor and the bytes read past the request. The caller writes the 101 answer.
#pragma once

#include <string>

#include "net/http.hpp"

namespace herald::net {

struct TakenConnection {
  int fd = -1;  // -1: nothing taken (a TLS connection, or one already answered or taken)
  std::string already_read;
};

// On the exchange's loop, before it is answered.
TakenConnection take_connection(HttpExchange& exchange);

}  // namespace herald::net
