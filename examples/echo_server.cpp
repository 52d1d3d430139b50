// The reference server of the public Engine.IO / Socket.IO protocol test suites, built on Herald's
// library, plus a few events that exercise server->client acks, rooms and disconnects:
//   /socket.io/  namespaces "/" and "/custom": every connection gets ("auth", handshake auth);
//                "/" answers message -> message-back, acks message-with-ack, and more (see below).
//   /engine.io/  (--engineio-echo) echoes every Engine.IO message.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <thread>

#include "engineio/server.hpp"
#include "net/listener.hpp"
#include "socketio/server.hpp"

using herald::socketio::Ack;
using herald::socketio::Json;
using herald::socketio::Socket;

namespace {

// Engine.IO echo: sends every message straight back.
class EchoHandler : public herald::engineio::SessionHandler {
 public:
  explicit EchoHandler(std::weak_ptr<herald::engineio::Session> session) : session_(std::move(session)) {}
  void on_message(std::string_view data, bool binary) override {
    auto session = session_.lock();
    if (!session) return;
    session->send(binary ? herald::engineio::make_binary_packet(std::string(data), session->protocol())
                         : herald::engineio::make_text_packet(herald::engineio::PacketType::Message, data));
  }
  void on_close(herald::engineio::CloseReason) override {}

 private:
  std::weak_ptr<herald::engineio::Session> session_;
};

Json rest(Json& args, size_t from) {
  Json out = Json::array();
  for (size_t i = from; i < args.size(); ++i) out.push_back(std::move(args[i]));
  return out;
}

void setup_main_namespace(herald::socketio::Namespace& nsp) {
  nsp.on("message", [](Socket& socket, Json& args, Ack&) { socket.emit("message-back", std::move(args)); });
  nsp.on("message-with-ack", [](Socket&, Json& args, Ack& ack) { ack(std::move(args)); });
  nsp.on("ask", [](Socket& socket, Json& args, Ack&) {
    socket.emit_with_ack("question", std::move(args), std::chrono::milliseconds(1000),
                         [weak = socket.weak_from_this()](bool timed_out, Json& answer) {
                           auto self = weak.lock();
                           if (!self) return;
                           if (timed_out)
                             self->emit("answer-timeout");
                           else
                             self->emit("answer", std::move(answer));
                         });
  });
  nsp.on("join", [](Socket& socket, Json& args, Ack& ack) {
    if (!args.empty() && args[0].is_string()) socket.join(args[0].get<std::string>());
    ack();
  });
  nsp.on("leave", [](Socket& socket, Json& args, Ack& ack) {
    if (!args.empty() && args[0].is_string()) socket.leave(args[0].get<std::string>());
    ack();
  });
  nsp.on("broadcast", [&nsp](Socket&, Json& args, Ack&) {
    if (args.empty() || !args[0].is_string()) return;
    nsp.to(args[0].get<std::string>()).emit("room-message", rest(args, 1));
  });
  nsp.on("broadcast-except", [&nsp](Socket&, Json& args, Ack&) {
    if (args.size() < 2 || !args[0].is_string() || !args[1].is_string()) return;
    nsp.to(args[0].get<std::string>()).except(args[1].get<std::string>()).emit("room-message", rest(args, 2));
  });
  nsp.on("broadcast-all", [&nsp](Socket&, Json& args, Ack&) { nsp.emit("all-message", std::move(args)); });
  nsp.on("disconnect-me", [](Socket& socket, Json&, Ack&) { socket.disconnect(); });
  nsp.on("rooms", [](Socket& socket, Json&, Ack& ack) {
    std::vector<std::string> rooms = socket.rooms();
    rooms.push_back(socket.id());
    std::sort(rooms.begin(), rooms.end());
    ack(Json::array({rooms}));
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Herald echo server: the reference server of the Engine.IO / Socket.IO protocol test suites"};
  uint16_t port = 3000;
  int ping_interval = 300;
  int ping_timeout = 200;
  size_t max_payload = 1000000;
  int connect_timeout = 1000;
  bool engineio_echo = false;
  bool allow_eio3 = false;
  std::vector<std::string> cors_origins;
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::string log_level = "info";
  app.add_option("--port", port, "Port to listen on (0.0.0.0)")->capture_default_str();
  app.add_option("--ping-interval", ping_interval, "Heartbeat interval in ms")->capture_default_str();
  app.add_option("--ping-timeout", ping_timeout, "Heartbeat timeout in ms")->capture_default_str();
  app.add_option("--max-payload", max_payload, "Largest message or polling body in bytes")->capture_default_str();
  app.add_option("--connect-timeout", connect_timeout, "Time allowed to join a namespace, in ms")
      ->capture_default_str();
  app.add_flag("--engineio-echo", engineio_echo, "Also serve raw Engine.IO on /engine.io/, echoing every message");
  app.add_flag("--allow-eio3", allow_eio3, "Also accept Engine.IO v3 clients (socket.io-client 2.x)");
  app.add_option("--cors-origin", cors_origins, "Allowed CORS origin (repeatable; * for any)");
  app.add_option("--threads", threads, "Event loop threads")->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));

  herald::net::LoopPool pool(threads);
  herald::socketio::Config config;
  config.engine.ping_interval = std::chrono::milliseconds(ping_interval);
  config.engine.ping_timeout = std::chrono::milliseconds(ping_timeout);
  config.engine.max_payload = max_payload;
  config.engine.cors_origins = cors_origins;
  config.engine.allow_eio3 = allow_eio3;
  config.connect_timeout = std::chrono::milliseconds(connect_timeout);
  herald::socketio::Server io(pool, config);

  auto greet = [](const std::shared_ptr<Socket>& socket) { socket->emit("auth", Json::array({socket->auth()})); };
  io.of("/").on_connection(greet);
  io.of("/custom").on_connection(greet);
  setup_main_namespace(io.of("/"));

  herald::net::HttpRouter router;
  io.attach(router);
  std::unique_ptr<herald::engineio::Server> echo;
  if (engineio_echo) {
    herald::engineio::Config echo_config = config.engine;
    echo_config.path = "/engine.io/";
    echo = std::make_unique<herald::engineio::Server>(pool, echo_config,
                                                      [](const std::shared_ptr<herald::engineio::Session>& session) {
                                                        session->set_handler(std::make_shared<EchoHandler>(session));
                                                      });
    router.add(echo_config.path, echo_config.max_payload,
               [&echo](std::shared_ptr<herald::net::HttpExchange> exchange) { echo->handle(exchange); });
  }

  auto listeners = herald::net::listen_on_every_loop(pool, router, "0.0.0.0", port);
  spdlog::info("echo server listening on port {}", listeners.front()->port());

  boost::asio::signal_set signals(pool.loop(0), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { pool.stop(); });
  pool.run();
  return 0;
}
