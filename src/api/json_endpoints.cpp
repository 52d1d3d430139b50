// The JSON API under /api/v1: what the seed's endpoints do, answered in full.
//   POST /api/v1/push         {users|rooms|all, msgId, message, ack, timeout}
//   POST /api/v1/push/batch   {pushes: [<as /api/v1/push>...]}: one result per entry, in order, at the end
//   POST /api/v1/offline      {user, messages: [{msgId, message}], timeout}
//   POST /api/v1/rooms        {users, joins, leaves}
//   GET  /api/v1/users/<uid>  online state and socket count
//   PUT  /api/v1/users/<uid>/rooms {rooms}: the rooms joined at login (the seed's room@<uid>)
//   GET  /api/v1/stats
//   GET  /api/v1/messages/<msgId>  per user: pending, acked, expired or dropped (kept pushes)
#include "api/push_api.hpp"
#include "net/fan_in.hpp"
#include "push/clock.hpp"

namespace herald::api {

using push::PushRequest;

namespace {

Json push_result_json(const std::string& msg_id, const push::PushResult& result, bool ack) {
  Json body{{"msgId", msg_id}, {"ack", ack}};
  if (ack) {
    body["acked"] = result.acked;
    body["timedOut"] = result.timed_out;
    body["complete"] = result.complete;
    body["usersReached"] = result.users_reached;
    body["socketsReached"] = result.sockets_reached;
    body["socketsAcked"] = result.sockets_acked;
    body["elapsedMs"] = static_cast<double>(result.elapsed.count()) / 1000.0;
  }
  body["offline"] = result.offline;
  if (ack) body["kept"] = result.kept;
  if (result.cluster_unreachable) {
    body["cluster"] = "unreachable";
    body["warning"] = "Redis is unreachable: only this node's users were reached";
  }
  return body;
}

}  // namespace

bool PushApi::handle_json(const Exchange& exchange, const std::string& path) {
  const auto& method = exchange->request().method;
  auto require = [&](const char* wanted) {
    if (method == wanted) return true;
    exchange->respond(json_reply(405, {{"error", path + " takes " + wanted}}).with("Allow", wanted));
    return false;
  };
  if (path == "/api/v1/push") {
    if (require("POST")) push_json(exchange, Fields::parse(exchange->request(), KeptMessages::Top));
    return true;
  }
  if (path == "/api/v1/push/batch") {
    if (require("POST")) batch_json(exchange, Fields::parse(exchange->request(), KeptMessages::Entries));
    return true;
  }
  if (path == "/api/v1/offline") {
    if (require("POST")) offline_json(exchange, Fields::parse(exchange->request()));
    return true;
  }
  if (path == "/api/v1/rooms") {
    if (require("POST")) rooms_json(exchange, Fields::parse(exchange->request()));
    return true;
  }
  if (path == "/api/v1/stats") {
    if (require("GET")) {
      service_.stats([exchange](push::Stats& stats) {
        exchange->respond(json_reply(
            200, {{"connections", stats.connections}, {"sockets", stats.sockets}, {"loggedIn", stats.logged_in}}));
      });
    }
    return true;
  }
  static const std::string kMessages = "/api/v1/messages/";
  if (path.starts_with(kMessages) && path.size() > kMessages.size()) {
    if (require("GET")) message_json(exchange, net::percent_decode(path.substr(kMessages.size()), false));
    return true;
  }
  static const std::string kUsers = "/api/v1/users/";
  if (path.starts_with(kUsers) && path.size() > kUsers.size()) {
    std::string rest = path.substr(kUsers.size());
    size_t slash = rest.find('/');
    std::string uid = net::percent_decode(rest.substr(0, slash), false);
    user_json(exchange, uid, slash == std::string::npos ? "" : rest.substr(slash));
    return true;
  }
  return false;
}

PushRequest PushApi::read_json_push(Fields& fields) const {
  const auto& config = service_.config();
  PushRequest request = read_push(fields);
  int given = fields.has("users") + fields.has("rooms") + fields.has("all");
  if (given != 1) throw BadRequest("give exactly one target: users, rooms or all");
  if (fields.has("users")) {
    request.kind = PushRequest::Kind::Users;
    request.targets = fields.list("users", config.max_targets, config.max_id_length, true);
  } else if (fields.has("rooms")) {
    request.kind = PushRequest::Kind::Rooms;
    request.targets = fields.list("rooms", config.max_targets, config.max_id_length, true);
  } else {
    if (!fields.boolean("all", false)) throw BadRequest("all must be true");
    request.kind = PushRequest::Kind::All;
  }
  if (fields.has("event")) {
    request.event = fields.required_string("event", config.max_id_length);
    if (socketio::is_reserved_event(request.event)) throw BadRequest("event '" + request.event + "' is reserved");
  }
  return request;
}

void PushApi::push_json(const Exchange& exchange, Fields fields) {
  PushRequest request = read_json_push(fields);
  bool ack = request.ack;
  std::string msg_id = request.msg_id;
  service_.push(std::move(request), [exchange, ack, msg_id](push::PushResult& result) {
    exchange->respond(json_reply(200, push_result_json(msg_id, result, ack)));
  });
}

void PushApi::batch_json(const Exchange& exchange, const Fields& fields) {
  const Json& raw = fields.raw();
  auto pushes = raw.find("pushes");
  if (pushes == raw.end() || !pushes->is_array() || pushes->empty())
    throw BadRequest("pushes is required: a JSON array of pushes as /api/v1/push takes them");
  if (pushes->size() > kMaxBatch)
    throw BadRequest("one batch holds at most " + std::to_string(kMaxBatch) + " pushes, got " +
                     std::to_string(pushes->size()));
  // Every entry is checked before any is sent: a bad batch sends nothing.
  std::vector<PushRequest> requests;
  requests.reserve(pushes->size());
  const auto& messages = fields.entry_messages();
  for (size_t i = 0; i < pushes->size(); ++i) {
    try {
      std::optional<Json> message = i < messages.size() ? messages[i] : std::nullopt;
      Fields entry = Fields::of((*pushes)[i], std::move(message));
      requests.push_back(read_json_push(entry));
    } catch (const BadRequest& error) {
      throw BadRequest("pushes[" + std::to_string(i) + "]: " + error.what());
    }
  }
  Json slots = Json::array();
  for (size_t i = 0; i < requests.size(); ++i) slots.push_back(nullptr);
  auto batch = net::FanIn<Json>::expect(
      requests.size(),
      [exchange](Json& results) {
        exchange->respond(json_reply(200, {{"results", std::move(results)}}));
      },
      std::move(slots));
  for (size_t i = 0; i < requests.size(); ++i) {
    bool ack = requests[i].ack;
    std::string msg_id = requests[i].msg_id;
    // Results come back on this loop, each as its push completes; the answer goes with the last.
    service_.push(std::move(requests[i]), [exchange, batch, i, ack, msg_id](push::PushResult& result) {
      batch->result()[i] = push_result_json(msg_id, result, ack);
      batch->arrived();
    });
  }
}

void PushApi::message_json(const Exchange& exchange, const std::string& msg_id) {
  service_.redelivery().states(msg_id, [exchange, msg_id](const push::PendingStore::States& states) {
    if (states.empty()) {
      return exchange->respond(json_reply(
          404, {{"error", "no record of " + msg_id +
                              ": it was acked by every user it was sent to, or is unknown, or its record ended"}}));
    }
    Json users = Json::object();
    for (const auto& [uid, state] : states) {
      users[uid] = Json{{"state", push::state_name(state.state)}, {"at", push::epoch_ms(state.at)}};
    }
    exchange->respond(json_reply(200, {{"msgId", msg_id}, {"users", std::move(users)}}));
  });
}

void PushApi::offline_json(const Exchange& exchange, const Fields& fields) {
  std::string uid = fields.required_string("user", service_.config().max_id_length);
  auto messages = read_offline_messages(fields.value("messages"));
  service_.push_offline(uid, std::move(messages), read_timeout(fields), [exchange, uid](push::OfflineResult& result) {
    exchange->respond(json_reply(
        200, {{"user", uid}, {"online", result.online}, {"acked", result.acked}, {"notAcked", result.not_acked}}));
  });
}

void PushApi::rooms_json(const Exchange& exchange, const Fields& fields) {
  const auto& config = service_.config();
  auto users = fields.list("users", config.max_targets, config.max_id_length, true);
  auto joins = fields.list("joins", config.max_targets, config.max_id_length, false);
  auto leaves = fields.list("leaves", config.max_targets, config.max_id_length, false);
  if (joins.empty() && leaves.empty()) throw BadRequest("joins or leaves is required");
  check_room_changes("users", users.size(), joins.size() + leaves.size());
  service_.change_room(users, std::move(joins), std::move(leaves), true, [exchange](push::ChangeRoomResult& result) {
    Json body{{"socketsMoved", result.sockets}};
    if (!result.complete) {
      body["cluster"] = "incomplete";
      body["warning"] = "some nodes did not answer: their sockets were not counted";
    }
    exchange->respond(json_reply(200, body));
  });
}

void PushApi::user_json(const Exchange& exchange, const std::string& uid, const std::string& rest) {
  const auto& config = service_.config();
  std::string uid_copy;
  std::string error = service_.users().check_uid(Json(uid), uid_copy);
  if (!error.empty()) throw BadRequest(error);
  const auto& method = exchange->request().method;
  if (rest.empty()) {
    if (method != "GET") {
      exchange->respond(json_reply(405, {{"error", "takes GET"}}).with("Allow", "GET"));
      return;
    }
    service_.users().count_sockets(uid, [exchange, uid](size_t sockets) {
      exchange->respond(json_reply(200, {{"uid", uid}, {"online", sockets > 0}, {"sockets", sockets}}));
    });
    return;
  }
  if (rest != "/rooms") {
    exchange->respond(json_reply(404, {{"error", "no endpoint " + method + " " + exchange->request().path}}));
    return;
  }
  if (method == "GET") {
    // The directory may answer on another thread: reply from the connection's loop.
    service_.directory().rooms_of(uid, [this, exchange, uid](std::vector<std::string> rooms) {
      service_.post(exchange->loop(), [exchange, uid, rooms = std::move(rooms)] {
        exchange->respond(json_reply(200, {{"uid", uid}, {"rooms", rooms}}));
      });
    });
    return;
  }
  if (method != "PUT") {
    exchange->respond(json_reply(405, {{"error", "takes GET or PUT"}}).with("Allow", "GET, PUT"));
    return;
  }
  Fields fields = Fields::parse(exchange->request());
  auto rooms = fields.list("rooms", config.max_targets, config.max_id_length, false);
  service_.directory().set_rooms(uid, rooms);
  exchange->respond(json_reply(200, {{"uid", uid}, {"rooms", rooms}}));
}

}  // namespace herald::api
