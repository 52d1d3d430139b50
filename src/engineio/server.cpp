#include "engineio/server.hpp"

#include <spdlog/spdlog.h>
#include "codec/json.hpp"

#include "engineio/sid.hpp"
#include "net/transport_counters.hpp"

namespace herald::engineio {
namespace {

std::string_view error_message(ErrorCode code) {
  switch (code) {
    case ErrorCode::UnknownTransport:
      return "Transport unknown";
    case ErrorCode::UnknownSid:
      return "Session ID unknown";
    case ErrorCode::BadHandshakeMethod:
      return "Bad handshake method";
    case ErrorCode::BadRequest:
      return "Bad request";
    case ErrorCode::Forbidden:
      return "Forbidden";
    case ErrorCode::UnsupportedProtocolVersion:
      return "Unsupported protocol version";
  }
  return "Bad request";
}

}  // namespace

net::HttpResponse error_response(ErrorCode code) {
  herald::Json body{{"code", static_cast<int>(code)}, {"message", error_message(code)}};
  // As Node's engine.io: 403 for Forbidden, 400 for the rest.
  return net::HttpResponse::json(code == ErrorCode::Forbidden ? 403 : 400, body.dump());
}

net::HttpResponse owner_unreachable_response() {
  herald::Json body{{"code", static_cast<int>(ErrorCode::UnknownSid)},
                    {"message", std::string(error_message(ErrorCode::UnknownSid)) + " (owner unreachable)"}};
  return net::HttpResponse::json(502, body.dump());
}

const CommonPackets& common_packets() {
  thread_local const CommonPackets packets{make_text_packet(PacketType::Ping), make_text_packet(PacketType::Pong),
                                           make_text_packet(PacketType::Noop), make_text_packet(PacketType::Close),
                                           make_text_packet(PacketType::Pong, "probe")};
  return packets;
}

Server::Server(net::LoopPool& pool, Config config, ConnectionHandler on_connection)
    : pool_(pool),
      config_(std::move(config)),
      on_connection_(std::move(on_connection)),
      sessions_(pool.size()),
      admission_(config_.max_sessions_per_ip, config_.handshakes_per_ip_per_second, pool.clock()) {
  for (size_t loop = 0; loop < pool.size(); ++loop)
    timers_.push_back(std::make_unique<net::FixedDelayTimers<Session>>(pool.loop(loop), pool.clock()));
  ws_limits_.max_message = config_.max_payload;
  ws_limits_.max_queued_bytes = config_.max_buffered_bytes;
}

void Server::add_cors_headers(const net::HttpRequest& request, net::HttpResponse& response) const {
  if (config_.cors_origins.empty()) return;
  std::string_view origin = request.header("origin");
  if (origin.empty()) return;
  bool listed = false;
  bool any = false;
  for (const auto& candidate : config_.cors_origins) {
    if (candidate == origin) listed = true;
    if (candidate == "*") any = true;
  }
  if (listed) {
    response.with("Access-Control-Allow-Origin", std::string(origin));
    response.with("Access-Control-Allow-Credentials", "true");
    response.with("Vary", "Origin");
  } else if (any) {
    // Any origin, so never with credentials: a page from anywhere must not ride on a user's cookies.
    response.with("Access-Control-Allow-Origin", "*");
  }
}

bool Server::origin_allowed(const net::HttpRequest& request) const {
  std::string_view origin = request.header("origin");
  if (origin.empty() || config_.cors_origins.empty()) return true;  // not a browser, or no list to check
  return net::origin_listed(config_.cors_origins, origin);
}

void Server::reply_error(const std::shared_ptr<net::HttpExchange>& exchange, ErrorCode code,
                         const net::Headers& extra) {
  const auto& request = exchange->request();
  spdlog::debug("engine.io: {} {} from {} refused: {}", request.method, request.target, request.remote_address,
                error_message(code));
  auto response = error_response(code);
  for (const auto& [name, value] : extra) response.with(name, value);
  add_cors_headers(request, response);
  exchange->respond(std::move(response));
}

void Server::handle(const std::shared_ptr<net::HttpExchange>& exchange) {
  const auto& request = exchange->request();
  if (request.method == "OPTIONS") {
    auto response = net::HttpResponse::text(204, "");
    add_cors_headers(request, response);
    response.with("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
    if (auto headers = request.header("access-control-request-headers"); !headers.empty())
      response.with("Access-Control-Allow-Headers", std::string(headers));
    return exchange->respond(std::move(response));
  }
  auto transport = request.query_param("transport");
  bool websocket = transport && *transport == "websocket";
  bool polling = transport && *transport == "polling";
  if ((!websocket || !config_.allow_websocket) && (!polling || !config_.allow_polling))
    return reply_error(exchange, ErrorCode::UnknownTransport);
  auto eio = request.query_param("EIO");
  if (eio != "4" && !(eio == "3" && config_.allow_eio3))
    return reply_error(exchange, ErrorCode::UnsupportedProtocolVersion);
  // JSONP polling (v3's `j` parameter, for browsers without XHR) is not offered.
  if (eio == "3" && polling && request.query_param("j")) return reply_error(exchange, ErrorCode::BadRequest);
  // An upgrade that could not be answered 101 is refused here, before any session work, whichever
  // process owns the session.
  if (websocket && request.is_websocket_upgrade()) {
    if (!origin_allowed(request)) return reply_error(exchange, ErrorCode::Forbidden);
    auto problem = request.websocket_handshake_error();
    if (problem == net::WebSocketHandshakeError::BadVersion)
      return reply_error(exchange, ErrorCode::BadRequest, {{"Sec-WebSocket-Version", "13"}});  // RFC 6455 4.4
    if (problem == net::WebSocketHandshakeError::BadKey) return reply_error(exchange, ErrorCode::BadRequest);
  }

  auto sid = request.query_param("sid");
  if (!sid) {
    if (websocket && !request.is_websocket_upgrade()) return reply_error(exchange, ErrorCode::BadRequest);
    if (request.method != "GET") return reply_error(exchange, ErrorCode::BadHandshakeMethod);
    return handshake(exchange, websocket);
  }
  auto route = parse_sid(*sid);
  if (route && route->process != config_.process_tag && foreign_session_)
    return foreign_session_(exchange, route->process);
  if (!route || route->process != config_.process_tag || route->loop >= pool_.size())
    return reply_error(exchange, ErrorCode::UnknownSid);
  if (route->loop != exchange->loop()) {
    // The session lives on another loop: move the connection there.
    exchange->move_to(route->loop, [this, id = *sid](const std::shared_ptr<net::HttpExchange>& moved) {
      handle_on_owner(moved, id);
    });
    return;
  }
  handle_on_owner(exchange, *sid);
}

void Server::handle_on_owner(const std::shared_ptr<net::HttpExchange>& exchange, const std::string& sid) {
  auto& table = sessions_[exchange->loop()];
  auto found = table.find(sid);
  if (found == table.end()) return reply_error(exchange, ErrorCode::UnknownSid);
  auto session = found->second;  // keep it alive through the call
  const auto& request = exchange->request();
  bool websocket = request.query_param("transport") == "websocket";
  if (websocket) {
    if (!request.is_websocket_upgrade()) return reply_error(exchange, ErrorCode::BadRequest);
    if (session->is_open() && session->has_websocket()) {
      // As Node's engine.io: a second WebSocket for a session that has one is accepted and closed
      // at once, and the first goes on untouched.
      spdlog::debug("engine.io: session {} already has a websocket; closing the new one", sid);
      if (auto ws = exchange->accept_websocket(ws_limits_)) ws->close(1000);
      return;
    }
    if (!session->can_upgrade()) return reply_error(exchange, ErrorCode::BadRequest);
    auto ws = exchange->accept_websocket(ws_limits_);
    if (ws) session->start_probe(std::move(ws));
    return;
  }
  if (session->transport() != TransportKind::Polling) return reply_error(exchange, ErrorCode::BadRequest);
  if (request.method == "GET") return session->on_poll(exchange);
  if (request.method == "POST") return session->on_post(exchange);
  reply_error(exchange, ErrorCode::BadRequest);
}

std::string Server::open_packet(const std::string& sid, bool websocket, Protocol protocol) const {
  herald::Json open{{"sid", sid},
                    {"upgrades", websocket || !config_.allow_upgrades || !config_.allow_websocket
                                     ? herald::Json::array()
                                     : herald::Json::array({"websocket"})},
                    {"pingInterval", config_.ping_interval.count()},
                    {"pingTimeout", config_.ping_timeout.count()}};
  if (protocol == Protocol::V4) open["maxPayload"] = config_.max_payload;  // v3 had no such field
  return "0" + open.dump();
}

void Server::handshake(const std::shared_ptr<net::HttpExchange>& exchange, bool websocket) {
  const auto& request = exchange->request();
  auto verdict = admission_.admit(request.remote_address);
  if (verdict != Admission::Verdict::Admit) {
    net::transport_counters().connections_refused.fetch_add(1, std::memory_order_relaxed);
    bool too_many = verdict == Admission::Verdict::TooManySessions;
    spdlog::debug("engine.io: refused {}: {}", request.remote_address,
                  too_many ? "too many sessions" : "too many handshakes");
    herald::Json body{{"code", static_cast<int>(ErrorCode::Forbidden)},
                      {"message", too_many ? "Too many connections from your address"
                                           : "Too many new connections from your address; retry later"}};
    auto response = net::HttpResponse::json(too_many ? 503 : 429, body.dump());
    if (!too_many) response.with("Retry-After", "1");
    add_cors_headers(request, response);
    return exchange->respond(std::move(response));
  }
  size_t loop = exchange->loop();
  std::string sid = make_sid(SidRoute{config_.process_tag, static_cast<uint8_t>(loop)});
  Handshake handshake{request.remote_address, request.query,
                      config_.keep_handshake_headers ? request.headers : net::Headers{}};
  auto protocol = request.query_param("EIO") == "3" ? Protocol::V3 : Protocol::V4;
  // As engine.io 3: any b64 value means the client cannot take binary polling payloads.
  auto b64 = request.query_param("b64");
  bool binary_polling = protocol == Protocol::V3 && (!b64 || b64->empty());
  auto session = std::make_shared<Session>(*this, sid, loop, std::move(handshake), protocol, binary_polling);
  sessions_[loop].emplace(session->id(), session);
  live_sessions_.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("engine.io: session {} (v{}) opened over {} from {}", sid, static_cast<int>(protocol),
                websocket ? "websocket" : "polling", request.remote_address);
  if (websocket) {
    auto ws = exchange->accept_websocket(ws_limits_);
    if (!ws) return remove(*session);
    session->open_websocket(std::move(ws), open_packet(sid, true, protocol));
  } else {
    session->open_polling(exchange, open_packet(sid, false, protocol));
  }
  if (session->is_open()) on_connection_(session);
}

void Server::remove(const Session& session) {
  auto& table = sessions_[session.loop()];
  auto found = table.find(session.id());
  if (found != table.end() && found->second.get() == &session) {
    admission_.release(session.handshake().address);
    table.erase(found);
    live_sessions_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Server::close_all(CloseReason reason) {
  pool_.post_all([this, reason](size_t loop) {
    std::vector<std::shared_ptr<Session>> sessions;
    sessions.reserve(sessions_[loop].size());
    for (auto& [id, session] : sessions_[loop]) sessions.push_back(session);
    for (auto& session : sessions) session->close(reason);
  });
}

}  // namespace herald::engineio
