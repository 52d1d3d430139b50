#include "socketio/client.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>

#include "engineio/sid.hpp"
#include "net/http.hpp"
#include "net/transport_counters.hpp"
#include "socketio/msgpack_packet.hpp"
#include "socketio/server.hpp"
#include "socketio/socket.hpp"

namespace herald::socketio {

namespace {

// The namespace of a v4-protocol packet without its query (`/nsp?x=y`), and that query as an
// object of strings: socket.io 2's handshake query, which stands for v5's auth.
Json take_query(std::string& nsp) {
  size_t mark = nsp.find('?');
  if (mark == std::string::npos) return Json();
  Json query = Json::object();
  std::string_view rest = std::string_view(nsp).substr(mark + 1);
  while (!rest.empty()) {
    std::string_view pair = rest.substr(0, rest.find('&'));
    size_t eq = pair.find('=');
    if (!pair.empty())
      query[net::percent_decode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? std::string() : net::percent_decode(pair.substr(eq + 1));
    rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
  }
  nsp.resize(mark);
  return query.empty() ? Json() : query;
}

}  // namespace

Client::Client(Server& server, engineio::Session& session)
    : server_(server), session_(&session), protocol_(session.protocol()) {
  ParserMode mode = server_.config().parser;
  if (mode == ParserMode::Msgpack)
    set_parser(Parser::Msgpack);
  else if (mode == ParserMode::Default || v3())
    set_parser(Parser::Default);
}

void Client::set_parser(Parser parser) {
  parser_ = parser;
  auto& counter =
      parser == Parser::Msgpack ? net::transport_counters().msgpack_clients : net::transport_counters().default_clients;
  counter.fetch_add(1, std::memory_order_relaxed);
}

Client::~Client() = default;

void Client::start() {
  if (LoopTraffic* traffic = server_.traffic(session_->loop())) ++traffic->sessions_opened;
  auto& clock = server_.pool().clock();
  connect_timer_ = std::make_unique<net::Alarm>(server_.pool().loop(session_->loop()), clock);
  connect_timer_->set(clock.now() + server_.config().connect_timeout, [weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self || !self->sockets_.empty()) return;
    spdlog::debug("socket.io: no namespace joined within connectTimeout, closing");
    self->close(DisconnectReason::ConnectTimeout);
  });
  if (v3()) {
    // As socket.io 2: a v3 client is in the default namespace without asking.
    Packet root{PacketType::Connect, "/", std::nullopt, nullptr};
    connect(root);
  }
}

void Client::send(const std::vector<engineio::OutPacket>& packets) {
  if (!session_) return;
  if (LoopTraffic* traffic = server_.traffic(session_->loop())) {
    traffic->packets_out += packets.size();
    for (const auto& packet : packets) traffic->bytes_out += packet.bytes->size();
  }
  session_->send(packets);
}

void Client::send(const Packet& packet) {
  if (session_) send(*to_engine_packets(packet, encoding()));
}

void Client::close(DisconnectReason reason) {
  if (session_) session_->close(reason);
}

void Client::remove(Socket& socket) {
  std::erase_if(sockets_, [&](const std::shared_ptr<Socket>& candidate) { return candidate.get() == &socket; });
}

void Client::reject(std::string_view why, Parser parser) {
  spdlog::debug("socket.io: session {} ({} parser) sent an invalid packet: {}", session_ ? session_->id() : "?",
                parser_name(parser), why);
  net::transport_counters().rejected_client_packets.fetch_add(1, std::memory_order_relaxed);
  if (parser == Parser::Msgpack)
    net::transport_counters().rejected_msgpack_packets.fetch_add(1, std::memory_order_relaxed);
  close(DisconnectReason::ParseError);
}

void Client::on_message(std::string_view data, bool binary) {
  auto self = shared_from_this();
  if (LoopTraffic* traffic = session_ ? server_.traffic(session_->loop()) : nullptr) {
    ++traffic->packets_in;
    traffic->bytes_in += data.size();
  }
  bool first = !received_;
  received_ = true;
  if (!parser_) set_parser(binary ? Parser::Msgpack : Parser::Default);
  if (*parser_ == Parser::Msgpack) return on_msgpack_message(data, binary);
  if (first && v3() && !binary && data.starts_with('{')) {
    // socket.io-msgpack-parser 2.x sends its CONNECT as JSON text; its client could not read the
    // default parser's connect to "/" either. Told in its own form, then closed.
    std::string error;
    auto packet = decode_msgpack_v2_text(data, error);
    send(*to_engine_packets(Packet{PacketType::ConnectError, packet ? packet->nsp : "/", std::nullopt,
                                   "socket.io-msgpack-parser over Engine.IO v3 needs the server's --parser msgpack"},
                            Encoding::MsgpackV3));
    return reject("a socket.io-msgpack-parser 2.x client, and the parser is not pinned to msgpack", Parser::Msgpack);
  }
  // A client keeps a decoder of its own only while a packet waits for binary attachments; every
  // other packet is decoded by the thread's (saves a Decoder per idle connection).
  thread_local Decoder shared_decoder;
  Decoder& decoder = decoder_ ? *decoder_ : shared_decoder;
  auto status = binary ? decoder.add_binary(data) : decoder.add_text(data);
  if (status == Decoder::Status::NeedAttachment) {
    if (!decoder_) decoder_ = std::make_unique<Decoder>(std::move(shared_decoder));
    shared_decoder = Decoder{};
    return;
  }
  if (status == Decoder::Status::Error) {
    std::string why = decoder.error();
    decoder_.reset();
    return reject(why, Parser::Default);
  }
  Packet packet = decoder.take();
  decoder_.reset();
  on_packet(packet);
}

void Client::on_msgpack_message(std::string_view data, bool binary) {
  std::string error;
  std::optional<Packet> packet;
  if (binary)
    packet = decode_msgpack(data, error);
  else if (v3())
    packet = decode_msgpack_v2_text(data, error);  // version 2's CONNECT, DISCONNECT and ERROR
  else
    error = "text message from a msgpack-parser client";
  if (!packet) return reject(error, Parser::Msgpack);
  on_packet(*packet);
}

void Client::on_packet(Packet& packet) {
  if (packet.type == PacketType::Connect) return connect(packet);
  // socket.io 2 puts the query on CONNECT only, but its server read the path of any packet.
  std::string_view nsp = packet.nsp;
  if (v3()) nsp = nsp.substr(0, nsp.find('?'));
  for (auto& socket : sockets_) {
    if (socket->nsp().name() == nsp) {
      auto keep = socket;
      return keep->on_packet(packet);
    }
  }
  // A packet for a namespace this client never joined: the protocol says close.
  spdlog::debug("socket.io: packet for namespace {} not joined", packet.nsp);
  close(DisconnectReason::ParseError);
}

void Client::refuse(const std::string& nsp, Json error) {
  Json reply;
  if (v3()) {
    // socket.io 2 sent the middleware's error data, else its message.
    reply = !error.is_object()       ? std::move(error)
            : error.contains("data") ? std::move(error["data"])
                                     : error.value("message", Json());
  } else {
    reply = error.is_object() ? std::move(error) : Json{{"message", std::move(error)}};
  }
  send(Packet{PacketType::ConnectError, nsp, std::nullopt, std::move(reply)});
}

void Client::connect(Packet& packet) {
  Json auth = v3() ? take_query(packet.nsp)
                   : (packet.data.is_object() && !packet.data.empty() ? std::move(packet.data) : Json());
  Namespace* nsp = server_.find(packet.nsp);
  if (!nsp) return refuse(packet.nsp, Json{{"message", "Invalid namespace"}});
  for (auto& socket : sockets_) {
    if (&socket->nsp() == nsp) {
      spdlog::debug("socket.io: duplicate connect to {}", packet.nsp);
      return;
    }
  }
  if (std::find(connecting_.begin(), connecting_.end(), packet.nsp) != connecting_.end()) {
    spdlog::debug("socket.io: duplicate connect to {} while it is checked", packet.nsp);
    return;
  }
  // A v3 client has no recovery to offer.
  Recovery* recovery = v3() ? nullptr : nsp->cluster_side().recovery();
  CameBack came_back;
  auto restored = recovery ? restore(*recovery, auth, came_back) : std::nullopt;
  // socket.io 2 named a socket after its session (`<nsp>#<sid>` off the main namespace), and its
  // clients take that for their socket.id: a v3 socket has that id here too.
  std::string id = restored           ? restored->session.sid
                   : v3() && session_ ? (nsp->name() == "/" ? session_->id() : nsp->name() + "#" + session_->id())
                                      : engineio::random_id();
  auto socket = std::make_shared<Socket>(*this, *nsp, std::move(id), std::move(auth));
  if (restored) {
    // As socket.io's skipMiddlewares: the socket passed them when it first connected.
    socket->restore(restored->session, restored->head);
    return accept(socket, packet.nsp, recovery, std::move(restored), std::move(came_back));
  }
  for (const auto& middleware : nsp->middlewares()) {
    if (auto error = middleware(*socket)) return refuse(packet.nsp, std::move(*error));
  }
  const AsyncMiddleware& check = nsp->async_middleware();
  if (!check) return accept(socket, packet.nsp, recovery, std::nullopt, std::move(came_back));
  connecting_.push_back(packet.nsp);
  check(*socket, [weak = weak_from_this(), socket, nsp_name = packet.nsp, recovery,
                  came_back = std::move(came_back)](std::optional<Json> error) mutable {
    auto self = weak.lock();
    if (!self || !self->session_) return;  // the client went away meanwhile
    std::erase(self->connecting_, nsp_name);
    if (error) return self->refuse(nsp_name, std::move(*error));
    self->accept(socket, nsp_name, recovery, std::nullopt, std::move(came_back));
  });
}

void Client::accept(const std::shared_ptr<Socket>& socket, const std::string& nsp_name, Recovery* recovery,
                    std::optional<Recovery::Restore> restored, CameBack came_back) {
  Namespace& nsp = socket->nsp();
  // Broadcasts logged before it connected are not for it.
  if (!restored && nsp.cluster_side().recovery()) socket->set_recovery_base(nsp.cluster_side().recovery()->head());
  sockets_.push_back(socket);
  connect_timer_.reset();
  nsp.sockets().add(socket);
  if (!restored && (!came_back.pid.empty() || came_back.offset)) nsp.hold_came_back(*socket, std::move(came_back));
  Json answer;
  if (!v3()) {
    answer = Json{{"sid", socket->id()}};
    if (recovery) answer["pid"] = recovery->pid_of(socket->id());
  }
  send(Packet{PacketType::Connect, nsp_name, std::nullopt, std::move(answer)});
  if (restored) {
    nsp.sockets().join(*socket, restored->session.rooms);
    // What it missed, in order, before anything newer.
    for (const auto& entry : restored->missed)
      if (LoopSockets::selects(entry.target, *socket)) socket->send_encoded(*entry.packets->get(socket->encoding()));
    net::transport_counters().recoveries.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("socket.io: socket {} recovered, {} missed broadcasts replayed", socket->id(),
                  restored->missed.size());
  }
  nsp.connected(socket);
}

std::optional<Recovery::Restore> Client::restore(Recovery& recovery, Json& auth, CameBack& came_back) {
  if (!auth.is_object()) return std::nullopt;
  auto pid = auth.find("pid");
  if (pid == auth.end() || !pid->is_string()) return std::nullopt;
  std::optional<std::string> offset;
  if (auto found = auth.find("offset"); found != auth.end() && found->is_string()) offset = found->get<std::string>();
  std::string given = pid->get<std::string>();
  // The client's recovery fields are not the application's auth.
  auth.erase("pid");
  auth.erase("offset");
  if (auth.empty()) auth = Json();
  bool ours = recovery.sid_of(given).has_value();
  auto restored = ours ? recovery.restore(given, offset) : std::nullopt;
  if (restored) return restored;
  net::transport_counters().recovery_failures.fetch_add(1, std::memory_order_relaxed);
  // A pid of another node: that node's session for it ends once this socket settles here.
  if (!ours) came_back.pid = std::move(given);
  if (offset) came_back.offset = RecoveryOffset::parse(*offset);
  return restored;
}

void Client::on_close(DisconnectReason reason) {
  auto self = shared_from_this();
  connect_timer_.reset();
  auto sockets = std::move(sockets_);
  sockets_.clear();
  for (auto& socket : sockets) socket->on_close(reason);
  if (ServerObserver* observer = server_.observer(); observer && session_)
    observer->session_closed(session_->loop(), reason);
  session_ = nullptr;
}

void Client::on_upgrade() {
  if (ServerObserver* observer = server_.observer())
    for (auto& socket : sockets_) observer->socket_upgraded(*socket);
}

}  // namespace herald::socketio
