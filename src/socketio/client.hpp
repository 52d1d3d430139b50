// The Socket.IO side of one Engine.IO session: decodes its packets, connects it to namespaces
// (one Socket each) and closes it if none is joined within connectTimeout. A v3 session speaks
// Socket.IO protocol v4 (socket.io 2.x): see connect(). Its parser (the default one or
// socket.io-msgpack-parser) is the server's setting, or with `auto` told by its first message: a
// msgpack client's CONNECT is binary, a default client's text. A v3 client cannot be told so (the
// server connects it to "/" before it sends anything), so under `auto` it is a default client.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engineio/session.hpp"
#include "net/clock.hpp"
#include "socketio/encoding.hpp"
#include "socketio/packet.hpp"
#include "socketio/recovery.hpp"

namespace herald::socketio {

class Server;
class Socket;

class Client : public engineio::SessionHandler, public std::enable_shared_from_this<Client> {
 public:
  // `session` owns this client (as its handler) and outlives every use of it here: it calls
  // on_close, which drops the pointer, before it goes.
  Client(Server& server, engineio::Session& session);
  ~Client() override;

  void start();
  engineio::Session* session() { return session_; }
  // How its packets are written (the default parser until its first message says otherwise).
  Encoding encoding() const { return encoding_of(protocol_, parser_.value_or(Parser::Default)); }
  void send(const std::vector<engineio::OutPacket>& packets);
  void send(const Packet& packet);
  // A socket left its namespace; closes nothing else.
  void remove(Socket& socket);
  void close(DisconnectReason reason);

 private:
  void on_message(std::string_view data, bool binary) override;
  void on_close(DisconnectReason reason) override;
  void on_upgrade() override;
  void on_packet(Packet& packet);
  void on_msgpack_message(std::string_view data, bool binary);
  void set_parser(Parser parser);
  // Drops the connection over a message it cannot decode.
  void reject(std::string_view why, Parser parser);
  // v5: CONNECT carries the auth payload, the answer {sid[, pid]}, an error {message[, data]}.
  // v4 (v3 sessions): the default namespace is connected at once; CONNECT is `40/nsp?query,`
  // with the query for auth; the answer carries nothing; an error is a string (or its data).
  void connect(Packet& packet);
  // Connects `socket`, which passed the middlewares (or came back with its state: `restored`).
  void accept(const std::shared_ptr<Socket>& socket, const std::string& nsp_name, Recovery* recovery,
              std::optional<Recovery::Restore> restored, CameBack came_back);
  void refuse(const std::string& nsp, Json error);
  bool v3() const { return protocol_ == engineio::Protocol::V3; }
  // The state a reconnecting client's {pid, offset} names, if it can come back; takes those
  // fields out of `auth`.
  // When it cannot, `came_back` gets a pid this node did not make (another node's) and the offset,
  // to settle it later (see Namespace::hold_came_back).
  std::optional<Recovery::Restore> restore(Recovery& recovery, Json& auth, CameBack& came_back);

  Server& server_;
  engineio::Session* session_;  // not owned: the session owns its client; null once closed
  engineio::Protocol protocol_;
  std::optional<Parser> parser_;      // unknown until the first message under ParserMode::Auto
  bool received_ = false;             // any message yet
  std::unique_ptr<Decoder> decoder_;  // only while a packet awaits its binary attachments
  std::vector<std::shared_ptr<Socket>> sockets_;
  std::vector<std::string> connecting_;  // namespaces whose CONNECT waits for an async middleware
  std::unique_ptr<net::Alarm> connect_timer_;
};

}  // namespace herald::socketio
