// The smallest useful push server: browsers connect with socket.io-client, and a backend's
//   curl -d 'hello' http://localhost:3000/push
// reaches every one of them as a "push" event. Usage: push_server [port]
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "net/listener.hpp"
#include "socketio/server.hpp"

namespace {

// A port number, or a clear error for anything else.
uint16_t parse_port(std::string_view text) {
  uint16_t port = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc() || end != text.data() + text.size())
    throw std::invalid_argument("usage: push_server [port], got '" + std::string(text) + "'");
  return port;
}

}  // namespace

int main(int argc, char** argv) try {
  uint16_t port = argc > 1 ? parse_port(argv[1]) : 3000;
  herald::net::LoopPool pool(1);
  herald::socketio::Server io(pool, herald::socketio::Config{});

  herald::net::HttpRouter router;
  io.attach(router);
  router.add("/push", 65536, [&io](const std::shared_ptr<herald::net::HttpExchange>& exchange) {
    if (exchange->request().method != "POST")
      return exchange->respond(herald::net::HttpResponse::text(405, "POST a message\n"));
    io.of("/").emit("push", herald::socketio::Json::array({exchange->request().body}));
    exchange->respond(herald::net::HttpResponse::text(200, "sent\n"));
  });

  auto listeners = herald::net::listen_on_every_loop(pool, router, "127.0.0.1", port);
  std::cout << listeners.front()->port() << std::endl;
  boost::asio::signal_set signals(pool.loop(0), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { pool.stop(); });
  pool.run();
} catch (const std::exception& error) {  // a bad port, a port in use
  std::cerr << "push_server: " << error.what() << "\n";
  return 1;
}
