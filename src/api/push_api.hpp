// The HTTP push API: the seed's six POST endpoints (form or JSON, {code, msg, body} envelope, so a
// backend written for the seed works unchanged) and a JSON API under /api/v1 that says more.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/fields.hpp"
#include "net/http.hpp"
#include "push/service.hpp"

namespace herald::api {

struct Config {
  std::string token;            // required on every API call when set
  size_t max_body = 1'000'000;  // bytes
  // Origins whose pages may call the API (a browser sends Origin; backends do not). "*": any.
  std::vector<std::string> cors_origins;
};

class PushApi {
 public:
  PushApi(push::Service& service, Config config) : service_(service), config_(std::move(config)) {}
  // Serves every path not taken by an earlier route.
  void attach(net::HttpRouter& router);

 private:
  using Exchange = std::shared_ptr<net::HttpExchange>;
  void handle(const Exchange& exchange);
  bool authorized(const net::HttpRequest& request) const;
  // False for a request a browser sent from a page of an origin not allowed (cross-site forgery).
  bool origin_allowed(const net::HttpRequest& request) const;

  // The seed's endpoints (seed_endpoints.cpp): always HTTP 200 with {code, msg, body}.
  bool handle_seed(const Exchange& exchange, const std::string& path);
  void push_seed(const Exchange& exchange, Fields& fields, push::PushRequest::Kind kind);
  void push_offline_seed(const Exchange& exchange, const Fields& fields);
  void change_room_seed(const Exchange& exchange, const Fields& fields);

  // The JSON API (json_endpoints.cpp): 2xx with a JSON object, 4xx with {"error"}.
  bool handle_json(const Exchange& exchange, const std::string& path);
  void push_json(const Exchange& exchange, Fields fields);
  void batch_json(const Exchange& exchange, const Fields& fields);
  static constexpr size_t kMaxBatch = 1000;  // pushes in one POST /api/v1/push/batch
  // A /api/v1/push body (or a batch entry) as a request: its target and the push.
  push::PushRequest read_json_push(Fields& fields) const;
  void offline_json(const Exchange& exchange, const Fields& fields);
  void rooms_json(const Exchange& exchange, const Fields& fields);
  void user_json(const Exchange& exchange, const std::string& uid, const std::string& rest);
  void message_json(const Exchange& exchange, const std::string& msg_id);

  // Shared by both: reads msgId/message/ack/timeout (the message is taken out of `fields`).
  push::PushRequest read_push(Fields& fields) const;
  std::chrono::milliseconds read_timeout(const Fields& fields) const;
  std::vector<push::OfflineMessage> read_offline_messages(const Json& list) const;
  // Refuses a changeRoom over push::Config::max_room_changes memberships.
  void check_room_changes(const char* users_field, size_t users, size_t rooms) const;

  push::Service& service_;
  Config config_;
};

// {code, msg, body} as the seed answered (no body when null), written straight as text.
net::HttpResponse seed_reply(int code, std::string_view msg, const Json& body = nullptr);
// ... with the users who acked as the body, without making a Json of them.
net::HttpResponse seed_reply(int code, std::string_view msg, const std::vector<std::string>& acked);
net::HttpResponse json_reply(int status, const Json& body);

}  // namespace herald::api
