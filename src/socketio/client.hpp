// The Socket.IO side of one Engine.IO session: decodes its packets, connects it to namespaces
// (one Socket each) and closes it if none is joined within connectTimeout. A v3 session speaks
// Socket.IO protocol v4 (socket.io 2.x): see connect().
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "engineio/session.hpp"
#include "socketio/packet.hpp"
#include "socketio/recovery.hpp"

namespace herald::socketio {

class Server;
class Socket;

class Client : public engineio::SessionHandler, public std::enable_shared_from_this<Client> {
 public:
  Client(Server& server, std::shared_ptr<engineio::Session> session);
  ~Client() override;

  void start();
  engineio::Session* session() { return session_.get(); }
  void send(const std::vector<engineio::OutPacket>& packets);
  void send(const Packet& packet);
  // A socket left its namespace; closes nothing else.
  void remove(Socket& socket);
  void close(std::string_view reason);

 private:
  void on_message(std::string_view data, bool binary) override;
  void on_close(std::string_view reason) override;
  void on_packet(Packet& packet);
  // v5: CONNECT carries the auth payload, the answer {sid[, pid]}, an error {message[, data]}.
  // v4 (v3 sessions): the default namespace is connected at once; CONNECT is `40/nsp?query,`
  // with the query for auth; the answer carries nothing; an error is a string (or its data).
  void connect(Packet& packet);
  void refuse(const std::string& nsp, Json error);
  bool v3() const { return protocol_ == engineio::Protocol::V3; }
  // The state a reconnecting client's {pid, offset} names, if it can come back; takes those
  // fields out of `auth`.
  // `foreign_pid` gets a pid this node did not make (another node's: see hold_foreign_session).
  std::optional<Recovery::Restore> restore(Recovery& recovery, Json& auth, std::string& foreign_pid);

  Server& server_;
  std::shared_ptr<engineio::Session> session_;
  engineio::Protocol protocol_;
  std::unique_ptr<Decoder> decoder_;  // only while a packet awaits its binary attachments
  std::vector<std::shared_ptr<Socket>> sockets_;
  std::unique_ptr<boost::asio::steady_timer> connect_timer_;
};

}  // namespace herald::socketio
