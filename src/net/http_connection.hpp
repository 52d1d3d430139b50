// One HTTP/1.1 connection: reads a request, hands it to the matching route, writes the response,
// repeats while keep-alive. The only place that sees Beast's HTTP types.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "net/http.hpp"
#include "net/loop_pool.hpp"

namespace herald::net {

// `policy`: how the port lets connections in (TLS, PROXY header, limits).
void serve_http(asio::ip::tcp::socket socket, const HttpRouter& router, LoopPool& pool, size_t loop,
                std::shared_ptr<const ConnectionPolicy> policy);

}  // namespace herald::net
