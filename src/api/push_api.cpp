#include "api/push_api.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "codec/json_depth.hpp"
#include "codec/raw_json.hpp"
#include "metrics/metrics.hpp"

namespace herald::api {

namespace {

// `{"code":N,"msg":"...",` and what `write_body` appends after `"body":`, if anything.
template <class WriteBody>
net::HttpResponse seed_text(int code, std::string_view msg, WriteBody write_body) {
  std::string text;
  text.reserve(64 + msg.size());
  text += R"({"code":)";
  text += std::to_string(code);
  text += R"(,"msg":)";
  codec::write_json_string(msg, text);
  write_body(text);
  text += '}';
  return net::HttpResponse::json(200, std::move(text));
}

}  // namespace

net::HttpResponse seed_reply(int code, std::string_view msg, const Json& body) {
  return seed_text(code, msg, [&body](std::string& text) {
    if (body.is_null()) return;
    text += R"(,"body":)";
    codec::write_json(body, text);
  });
}

net::HttpResponse seed_reply(int code, std::string_view msg, const std::vector<std::string>& acked) {
  return seed_text(code, msg, [&acked](std::string& text) {
    text += R"(,"body":[)";
    for (size_t i = 0; i < acked.size(); ++i) {
      if (i > 0) text += ',';
      codec::write_json_string(acked[i], text);
    }
    text += ']';
  });
}

net::HttpResponse json_reply(int status, const Json& body) {
  return net::HttpResponse::json(status, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void PushApi::attach(net::HttpRouter& router) {
  router.add("/", config_.max_body, [this](const std::shared_ptr<net::HttpExchange>& exchange) { handle(exchange); });
}

bool PushApi::origin_allowed(const net::HttpRequest& request) const {
  std::string_view origin = request.header("origin");
  if (origin.empty()) return true;
  // The page's own origin (Host, with either scheme) is the same site.
  std::string_view host = request.header("host");
  if (!host.empty() && (origin == "http://" + std::string(host) || origin == "https://" + std::string(host)))
    return true;
  return net::origin_listed(config_.cors_origins, origin);
}

bool PushApi::authorized(const net::HttpRequest& request) const {
  if (config_.token.empty()) return true;
  std::string given;
  std::string_view header = request.header("authorization");
  if (header.starts_with("Bearer ")) given = header.substr(7);
  // Headers only: a token in the URL would be kept by every access log on the way.
  if (given.empty()) given = request.header("x-api-token");
  return given.size() == config_.token.size() && CRYPTO_memcmp(given.data(), config_.token.data(), given.size()) == 0;
}

void PushApi::handle(const Exchange& exchange) {
  const auto& request = exchange->request();
  std::string path = request.path;
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  bool seed_path = !path.starts_with("/api/");
  if (request.body_too_large) {
    auto message = "body is larger than " + std::to_string(config_.max_body) + " bytes";
    return exchange->respond(seed_path ? seed_reply(-1, message) : json_reply(413, {{"error", message}}));
  }
  if (!origin_allowed(request)) {
    metrics::global().rejected_api_requests.fetch_add(1, std::memory_order_relaxed);
    auto message = "requests from pages of origin " + std::string(request.header("origin")) +
                   " are refused (not in --cors-origins)";
    return exchange->respond(seed_path ? json_reply(403, {{"code", -1}, {"msg", message}})
                                       : json_reply(403, {{"error", message}}));
  }
  if (!authorized(request)) {
    spdlog::debug("api: {} {} from {} refused: bad token", request.method, path, request.remote_address);
    auto message = "invalid or missing API token";
    return exchange->respond(seed_path ? json_reply(401, {{"code", -1}, {"msg", message}})
                                       : json_reply(401, {{"error", message}}));
  }
  try {
    if (seed_path ? handle_seed(exchange, path) : handle_json(exchange, path)) return;
  } catch (const BadRequest& error) {
    metrics::global().rejected_api_requests.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("api: {} {} from {}: {}", request.method, path, request.remote_address, error.what());
    return exchange->respond(seed_path ? seed_reply(-1, error.what()) : json_reply(400, {{"error", error.what()}}));
  }
  exchange->respond(json_reply(404, {{"error", "no endpoint " + request.method + " " + path}}));
}

std::chrono::milliseconds PushApi::read_timeout(const Fields& fields) const {
  const auto& config = service_.config();
  return std::chrono::milliseconds(
      fields.integer("timeout", config.default_ack_timeout.count(), 1, config.max_ack_timeout.count()));
}

// A push is kept for users who have not acked it for at most a week.
constexpr std::chrono::milliseconds kMaxTtl{7LL * 24 * 3600 * 1000};

push::PushRequest PushApi::read_push(Fields& fields) const {
  const auto& config = service_.config();
  push::PushRequest request;
  request.msg_id = fields.required_string("msgId", config.max_id_length);
  request.message = fields.take("message");
  request.ack = fields.boolean("ack", true);
  request.timeout = read_timeout(fields);
  if (fields.has("ttl")) request.ttl = std::chrono::milliseconds(fields.integer("ttl", 0, 0, kMaxTtl.count()));
  return request;
}

void PushApi::check_room_changes(const char* users_field, size_t users, size_t rooms) const {
  size_t cap = service_.config().max_room_changes;
  if (rooms > 0 && users > cap / rooms)
    throw BadRequest(std::string("one call changes at most ") + std::to_string(cap) + " memberships (" + users_field +
                     " x (joins + leaves)); this one asks for " + std::to_string(users * rooms) +
                     ": split it into several calls");
}

std::vector<push::OfflineMessage> PushApi::read_offline_messages(const Json& list) const {
  const auto& config = service_.config();
  Json items = list;
  if (items.is_string()) {
    if (!codec::json_depth_within(items.get_ref<const std::string&>())) throw BadRequest(kTooDeep);
    items = Json::parse(items.get<std::string>(), nullptr, false);
    if (items.is_discarded()) throw BadRequest("msglist is not valid JSON");
  }
  if (!items.is_array() || items.empty())
    throw BadRequest("msglist must be a non-empty JSON array of {msgId, message}");
  if (items.size() > config.max_offline_messages)
    throw BadRequest("msglist has more than " + std::to_string(config.max_offline_messages) + " items");
  std::vector<push::OfflineMessage> messages;
  for (size_t i = 0; i < items.size(); ++i) {
    const Json& item = items[i];
    std::string where = "msglist[" + std::to_string(i) + "]";
    if (!item.is_object()) throw BadRequest(where + " must be an object {msgId, message}");
    auto id = item.find("msgId");
    if (id == item.end() || !(id->is_string() || id->is_number_integer()) ||
        (id->is_string() && id->get_ref<const std::string&>().empty()))
      throw BadRequest(where + ".msgId is required");
    std::string msg_id = id->is_string() ? id->get<std::string>() : id->dump();
    if (msg_id.size() > config.max_id_length) throw BadRequest(where + ".msgId is too long");
    auto message = item.find("message");
    if (message == item.end() || message->is_null()) throw BadRequest(where + ".message is required");
    messages.push_back(push::OfflineMessage{std::move(msg_id), *message});
  }
  return messages;
}

}  // namespace herald::api
