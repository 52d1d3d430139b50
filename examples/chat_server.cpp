// A chat server on Herald's Socket.IO library: rooms, broadcasts, acknowledgements and a connect
// middleware. A socket.io-client joins with a name and talks in rooms:
//   const socket = io("http://localhost:3000", { auth: { name: "ada" } });
//   socket.emit("join", "lobby", (reply) => ...);          // reply: { room, rooms }
//   socket.emit("say", "lobby", "hello", (reply) => ...);  // reply: { delivered: true } or { error }
//   socket.on("said", ({ room, name, text }) => ...);     // what the others in the room say
//   socket.on("joined", ({ room, name }) => ...);
// Usage: chat_server [port]   (default 3000; 0 picks a free one, printed on stdout)
#include <spdlog/spdlog.h>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "net/listener.hpp"
#include "socketio/server.hpp"

using herald::socketio::Ack;
using herald::socketio::Json;
using herald::socketio::Socket;

namespace {

// The string at args[index], or nullptr when there is none.
const std::string* string_arg(const Json& args, size_t index) {
  return index < args.size() && args[index].is_string() ? args[index].get_ptr<const std::string*>() : nullptr;
}

// A port number, or a clear error for anything else.
uint16_t parse_port(std::string_view text) {
  uint16_t port = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc() || end != text.data() + text.size())
    throw std::invalid_argument("usage: chat_server [port], got '" + std::string(text) + "'");
  return port;
}

}  // namespace

int main(int argc, char** argv) try {
  uint16_t port = argc > 1 ? parse_port(argv[1]) : 3000;

  herald::net::LoopPool pool(2);  // two event loops (threads); sockets stay on the loop that took them
  herald::socketio::Server io(pool, herald::socketio::Config{});
  herald::socketio::Namespace& chat = io.of("/");

  // Middleware: runs before a connection is accepted. Returning an object refuses it, and the
  // client gets a connect_error with that object; here a name is required.
  chat.use([](Socket& socket) -> std::optional<Json> {
    const Json& name = socket.auth().is_object() ? socket.auth().value("name", Json()) : Json();
    if (!name.is_string() || name.get<std::string>().empty() || name.get<std::string>().size() > 32)
      return Json{{"message", "connect with auth { name } (1 to 32 characters)"}};
    socket.data["name"] = name;  // application data travels with the socket
    return std::nullopt;
  });

  // Rooms: join, then tell the others there. socket.to(room) reaches every member but this socket.
  chat.on("join", [](Socket& socket, Json& args, Ack& ack) {
    const std::string* room = string_arg(args, 0);
    if (!room) return ack(Json::array({{{"error", "join needs a room name"}}}));
    socket.join(*room);
    socket.to(*room).emit("joined", Json::array({{{"room", *room}, {"name", socket.data["name"]}}}));
    if (ack) ack(Json::array({{{"room", *room}, {"rooms", socket.rooms()}}}));  // the client's callback
  });

  chat.on("leave", [](Socket& socket, Json& args, Ack& ack) {
    if (const std::string* room = string_arg(args, 0)) {
      socket.leave(*room);
      socket.to(*room).emit("left", Json::array({{{"room", *room}, {"name", socket.data["name"]}}}));
    }
    ack();
  });

  // A broadcast to a room, answered with an acknowledgement the client waits for.
  chat.on("say", [](Socket& socket, Json& args, Ack& ack) {
    const std::string* room = string_arg(args, 0);
    const std::string* text = string_arg(args, 1);
    if (!room || !text) return ack(Json::array({{{"error", "say needs a room and a text"}}}));
    if (!socket.in_room(*room)) return ack(Json::array({{{"error", "join " + *room + " first"}}}));
    socket.to(*room).emit("said", Json::array({{{"room", *room}, {"name", socket.data["name"]}, {"text", *text}}}));
    ack(Json::array({{{"delivered", true}}}));
  });

  // A broadcast to everyone connected, on every loop.
  chat.on_connection(
      [&chat](const std::shared_ptr<Socket>& socket) { chat.emit("online", Json::array({socket->data["name"]})); });

  herald::net::HttpRouter router;
  io.attach(router);  // serves /socket.io/
  auto listeners = herald::net::listen_on_every_loop(pool, router, "127.0.0.1", port);
  std::cout << listeners.front()->port() << std::endl;

  boost::asio::signal_set signals(pool.loop(0), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    io.close();  // close packets: clients reconnect elsewhere
    pool.stop();
  });
  pool.run();
} catch (const std::exception& error) {  // a bad port, a port in use
  std::cerr << "chat_server: " << error.what() << "\n";
  return 1;
}
