#include "push/users.hpp"

#include <spdlog/spdlog.h>

#include "metrics/metrics.hpp"
#include "push/clock.hpp"
#include "push/redelivery.hpp"
#include "push/user_data.hpp"
#include "socketio/server.hpp"

namespace herald::push {

using socketio::Ack;
using socketio::Json;
using socketio::Socket;

Users::Users(socketio::Namespace& nsp, const Config& config, RoomDirectory& directory, notify::WebhookSender& webhooks,
             Redelivery& redelivery)
    : nsp_(nsp),
      config_(config),
      directory_(directory),
      webhooks_(webhooks),
      redelivery_(redelivery),
      token_expiry_(nsp) {}

std::string Users::check_uid(const Json& value, std::string& uid) const {
  if (value.is_string()) {
    uid = value.get<std::string>();
  } else if (value.is_number_integer()) {
    uid = value.dump();
  } else {
    return "uid must be a string";
  }
  if (uid.empty()) return "uid must not be empty";
  if (uid.size() > config_.max_id_length) return "uid is longer than " + std::to_string(config_.max_id_length);
  if (uid.find(',') != std::string::npos) return "uid must not contain ','";
  return {};
}

namespace {

// The token a connection brings: the handshake auth's `token`, else a `token` query parameter.
std::string token_of(const Socket& socket) {
  if (auto found = socket.auth().find("token"); found != socket.auth().end() && found->is_string())
    return found->get<std::string>();
  return net::query_param(socket.handshake().query, "token").value_or("");
}

// The reasons a socket leaves a recovery session for (as Socket::on_close keeps one): its
// connection failed, neither the client nor the application chose to leave.
bool leaves_session(socketio::DisconnectReason reason) {
  using Reason = socketio::DisconnectReason;
  switch (reason) {
    case Reason::TransportClose:
    case Reason::TransportError:
    case Reason::PingTimeout:
    case Reason::ForcedClose:
    case Reason::ForcedServerClose:
    case Reason::ServerShuttingDown:
      return true;
    default:
      return false;
  }
}

constexpr const char* kAuthKey = "herald.auth";         // claims passed from the middleware to the connection
constexpr const char* kExpKey = "herald.tokenExpires";  // the token's end (epoch ms), for a recovered connection

}  // namespace

void Users::attach() {
  if (config_.jwt) {
    nsp_.use([this](Socket& socket) -> std::optional<Json> {
      std::string token = token_of(socket);
      std::string error = "authentication required: connect with auth {token}";
      std::optional<auth::JwtClaims> claims;
      if (!token.empty()) claims = config_.jwt->verify(token, error);
      std::string uid;
      if (claims) error = check_uid(Json(claims->subject), uid);
      if (!claims || !error.empty()) {
        metrics::global().auth_refused.fetch_add(1, std::memory_order_relaxed);
        spdlog::debug("push: connection refused: {}", error);
        return Json{{"message", claims ? "invalid token: " + error : error}};
      }
      Json auth{{"uid", uid}, {"rooms", claims->rooms}};
      if (claims->expires) auth["exp"] = epoch_ms(*claims->expires);
      socket.data = Json{{kAuthKey, std::move(auth)}};
      return std::nullopt;
    });
  }
  if (config_.auth_webhook) attach_webhook();
  nsp_.on("login", [this](Socket& socket, Json& args, Ack& ack) {
    std::string uid;
    std::string error = args.empty() ? "login needs a uid" : check_uid(args[0], uid);
    if (error.empty() && config_.authenticated() && uid != user_of(socket))
      error =
          "this connection is authenticated as " + std::string(user_of(socket)) + ": login as another user is refused";
    if (!error.empty()) {
      spdlog::debug("push: socket {} login refused: {}", socket.id(), error);
      if (ack) ack(Json::array({Json{{"code", -1}, {"msg", error}}}));
      return;
    }
    login(socket, uid);
    if (ack) ack(Json::array({Json{{"code", 0}, {"msg", "login success"}}}));
  });
  nsp_.on("logout", [this](Socket& socket, Json&, Ack& ack) {
    if (config_.authenticated()) {
      if (ack) ack(Json::array({Json{{"code", -1}, {"msg", "an authenticated connection logs out by disconnecting"}}}));
      return;
    }
    logout(socket);
    if (ack) ack(Json::array({Json{{"code", 0}, {"msg", "logout success"}}}));
  });
  nsp_.on("refresh_token", [this](Socket& socket, Json& args, Ack& ack) { refresh_token(socket, args, ack); });
  // A disconnect counts as a logout, unless the socket left a session to come back to.
  nsp_.on_disconnect([this](Socket& socket, socketio::DisconnectReason reason) {
    if (std::string_view uid = user_of(socket); presence_ && !uid.empty()) {
      if (nsp_.cluster_side().recovery() && socket.protocol() == engineio::Protocol::V4 && leaves_session(reason))
        presence_->dropped(std::string(uid), socket.id());
      else
        presence_->logged_out(std::string(uid), socket.id());
    }
    if (config_.jwt) token_expiry_.forget(socket);
  });
  nsp_.on_server_side("herald:kick", [this](Json& args, const socketio::Namespace::ServerSideReply& reply) {
    if (!args.empty() && args[0].is_object()) {
      const Json& kick = args[0];
      kick_local(kick.value("uid", ""), kick.value("seq", 0ULL), kick.value("socketId", ""));
    }
    if (reply) reply(nullptr);
  });
  nsp_.on_connection([this](const std::shared_ptr<Socket>& socket) {
    // A recovered socket is still logged in (its user and rooms came back with it): it is only
    // recorded again where logins are kept, since its disconnect removed it there.
    if (socket->recovered()) {
      if (std::string_view uid = user_of(*socket); presence_ && !uid.empty())
        presence_->logged_in(std::string(uid), socket->id());
      // Its token's end came back with its data: a recovered connection lasts no longer than it.
      if (config_.jwt && socket->data.is_object())
        if (auto exp = socket->data.find(kExpKey); exp != socket->data.end() && exp->is_number_integer())
          track_token(*socket, exp->get<int64_t>());
      redelivery_.deliver_to(*socket);
      return;
    }
    if (config_.authenticated()) {
      Json claims = std::move(socket->data[kAuthKey]);
      socket->data = Json();
      login(*socket, claims["uid"].get<std::string>());
      for (const auto& room : claims["rooms"]) socket->join(room.get<std::string>());
      if (auto exp = claims.find("exp"); exp != claims.end()) track_token(*socket, exp->get<int64_t>());
      return;
    }
    auto found = socket->auth().find("uid");
    if (found == socket->auth().end()) return;
    std::string uid;
    std::string error = check_uid(*found, uid);
    if (!error.empty()) {
      spdlog::debug("push: socket {} handshake uid refused: {}", socket->id(), error);
      return;
    }
    login(*socket, uid);
  });
}

// The backend answers each connection's {auth, query, headers, address, nsp}; until it does the
// connection waits (its CONNECT unanswered), and anything but an identity refuses it.
void Users::attach_webhook() {
  nsp_.use_async([this](Socket& socket, std::function<void(std::optional<Json>)> next) {
    const auto& handshake = socket.handshake();
    Json headers = Json::object();
    for (const auto& [name, value] : handshake.headers) headers[name] = value;
    Json request{{"auth", socket.auth().is_null() ? Json::object() : socket.auth()},
                 {"query", handshake.query},
                 {"headers", std::move(headers)},
                 {"address", handshake.address},
                 {"nsp", nsp_.name()}};
    auto& loop = nsp_.server().pool().loop(socket.loop());
    // `next` holds the socket until it is called: the reference stays good in the answer.
    config_.auth_webhook->ask(loop.get_executor(), request,
                              [this, &socket, next = std::move(next)](auth::WebhookVerdict verdict) {
                                std::string uid;
                                std::string error = verdict.refusal;
                                if (verdict.identity) error = check_uid(Json(verdict.identity->uid), uid);
                                if (!error.empty()) {
                                  metrics::global().auth_refused.fetch_add(1, std::memory_order_relaxed);
                                  spdlog::debug("push: connection refused by the auth webhook: {}", error);
                                  return next(Json{{"message", error}});
                                }
                                socket.data = Json{{kAuthKey, Json{{"uid", uid}, {"rooms", verdict.identity->rooms}}}};
                                next(std::nullopt);
                              });
  });
}

void Users::login(Socket& socket, const std::string& uid) {
  if (user_of(socket) == uid) return;
  if (!user_of(socket).empty()) logout(socket);
  // Newer logins get larger numbers on every node: wall-clock microseconds, plus a counter for
  // logins within the same microsecond here.
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  uint64_t seq = static_cast<uint64_t>(micros) * 64 + login_seq_.fetch_add(1, std::memory_order_relaxed) % 64;
  socket.attach(UserData::make(uid, seq));
  socket.join(uid);
  // Rooms the backend set for this user; the directory may answer from another thread. A socket
  // that came back from another node is sent what it missed once it is in them.
  nsp_.wait_for_rooms(socket);
  directory_.rooms_of(
      uid, [this, weak = socket.weak_from_this(), loop = socket.loop(), seq](std::vector<std::string> rooms) {
        nsp_.sockets().post_to_loop(loop, [this, weak, seq, rooms = std::move(rooms)] {
          auto held = weak.lock();
          if (!held || !held->connected() || login_seq_of(*held) != seq) return;
          held->join(rooms);
          nsp_.settle_came_back(*held, true);
        });
      });
  if (config_.single_session) kick_older_sessions(uid, seq, socket.id());
  if (presence_) presence_->logged_in(uid, socket.id());
  metrics::global().logins.fetch_add(1, std::memory_order_relaxed);
  publish_login(socket, uid);
  redelivery_.deliver_to(socket);
  spdlog::debug("push: socket {} logged in as {}", socket.id(), uid);
}

void Users::logout(Socket& socket) {
  std::string uid(user_of(socket));
  if (uid.empty()) return;
  spdlog::debug("push: socket {} logged out from {}", socket.id(), uid);
  if (presence_) presence_->logged_out(uid, socket.id());
  auto rooms = socket.rooms();
  for (const auto& room : rooms) socket.leave(room);
  socket.attach(nullptr);
}

void Users::kick_older_sessions(const std::string& uid, uint64_t seq, const std::string& socket_id) {
  nsp_.server_side_emit(Json::array({"herald:kick", Json{{"uid", uid}, {"seq", seq}, {"socketId", socket_id}}}));
  kick_local(uid, seq, socket_id);
}

void Users::kick_local(const std::string& uid, uint64_t seq, const std::string& socket_id) {
  socketio::Target target{
      {uid},
      {socket_id},
      [uid, seq](const Socket& socket) { return user_of(socket) == uid && login_seq_of(socket) < seq; },
      Json::object()};
  nsp_.sockets().for_each_loop(std::move(target), [uid](const std::vector<Socket*>& sockets) {
    for (Socket* socket : sockets) {
      auto held = socket->shared_from_this();
      spdlog::debug("push: kicking socket {}: {} logged in again", socket->id(), uid);
      held->emit("repeat", Json::array({"-1", uid + " logged in twice"}));
      held->disconnect();
    }
  });
}

void Users::refresh_token(Socket& socket, const Json& args, Ack& ack) {
  auto answer = [&ack](Json reply) {
    if (ack) ack(Json::array({std::move(reply)}));
  };
  if (!config_.jwt) return answer(Json{{"code", -1}, {"msg", "this server does not authenticate with tokens"}});
  if (args.empty() || !args[0].is_string()) return answer(Json{{"code", -1}, {"msg", "refresh_token needs a token"}});
  std::string error;
  auto claims = config_.jwt->verify(args[0].get<std::string>(), error);
  if (!claims) return answer(Json{{"code", -1}, {"msg", "invalid token: " + error}});
  if (claims->subject != user_of(socket))
    return answer(Json{{"code", -1}, {"msg", "the token is for another user than " + std::string(user_of(socket))}});
  if (!claims->expires) {
    token_expiry_.forget(socket);
    socket.data = Json();
    return answer(Json{{"code", 0}, {"msg", "token refreshed"}});
  }
  int64_t expires_ms = epoch_ms(*claims->expires);
  track_token(socket, expires_ms);
  answer(Json{{"code", 0}, {"msg", "token refreshed"}, {"expiresAt", expires_ms}});
}

void Users::track_token(Socket& socket, int64_t expires_ms) {
  // Kept in the socket's data too, which a recovered connection brings back.
  socket.data = Json{{kExpKey, expires_ms}};
  token_expiry_.track(socket, from_epoch_ms(expires_ms));
}

void Users::publish_login(const Socket& socket, const std::string& uid) {
  if (config_.login_webhook.empty()) return;
  Json notice{{"uid", uid}, {"socketId", socket.id()}, {"nsp", nsp_.name()}, {"time", epoch_ms(WallClock::now())}};
  webhooks_.post(config_.login_webhook, notice.dump());
}

void Users::count_sockets(const std::string& uid, std::function<void(size_t)> done) {
  socketio::Target target{
      {uid}, {}, [uid](const Socket& socket) { return user_of(socket) == uid; }, Json{{"heraldFilter", "users"}}};
  socketio::Broadcast(nsp_, std::move(target))
      .fetch_sockets([uid, done = std::move(done)](std::vector<socketio::SocketInfo>& sockets, bool) {
        size_t count = 0;
        for (const auto& socket : sockets)
          if (user_of(socket) == uid) ++count;
        done(count);
      });
}

}  // namespace herald::push
