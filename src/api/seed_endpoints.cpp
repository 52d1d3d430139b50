// The seed's endpoints, with its paths, field names and envelope.
#include <spdlog/spdlog.h>

#include "api/push_api.hpp"

namespace herald::api {

using push::PushRequest;

bool PushApi::handle_seed(const Exchange& exchange, const std::string& path) {
  PushRequest::Kind kind = PushRequest::Kind::Users;
  bool offline = false;
  bool change_room = false;
  if (path == "/pushMsgToSingleDevice" || path == "/pushBatchUniMsg") {
    kind = PushRequest::Kind::Users;
  } else if (path == "/pushMsgToRoom") {
    kind = PushRequest::Kind::Rooms;
  } else if (path == "/pushMsgToAll") {
    kind = PushRequest::Kind::All;
  } else if (path == "/pushOffLineMsg") {
    offline = true;
  } else if (path == "/changeRoom") {
    change_room = true;
  } else {
    return false;
  }
  if (exchange->request().method != "POST") {
    exchange->respond(json_reply(405, {{"code", -1}, {"msg", path + " takes POST"}}).with("Allow", "POST"));
    return true;
  }
  Fields fields = Fields::parse(exchange->request(), offline || change_room ? KeptMessages::None : KeptMessages::Top);
  if (offline) {
    push_offline_seed(exchange, fields);
  } else if (change_room) {
    change_room_seed(exchange, fields);
  } else {
    push_seed(exchange, fields, kind);
  }
  return true;
}

void PushApi::push_seed(const Exchange& exchange, Fields& fields, PushRequest::Kind kind) {
  const auto& config = service_.config();
  const std::string& path = exchange->request().path;
  PushRequest request;
  // Targets are read first so a missing one is named before msgId/message, as the seed did.
  if (kind == PushRequest::Kind::Users) {
    if (path.starts_with("/pushMsgToSingleDevice"))
      request.targets = {fields.required_string("useraccount", config.max_id_length)};
    else
      request.targets = fields.list("useraccounts", config.max_targets, config.max_id_length, true);
  } else if (kind == PushRequest::Kind::Rooms) {
    request.targets = fields.list("tags", config.max_targets, config.max_id_length, true);
  }
  PushRequest common = read_push(fields);
  request.msg_id = std::move(common.msg_id);
  request.message = std::move(common.message);
  request.ack = common.ack;
  request.timeout = common.timeout;
  request.ttl = common.ttl;
  request.kind = kind;
  bool ack = request.ack;
  bool to_users = kind == PushRequest::Kind::Users;
  service_.push(std::move(request), [exchange, ack, to_users](push::PushResult& result) {
    if (!result.cluster_unreachable) {
      return exchange->respond(ack ? seed_reply(0, "success", result.acked) : seed_reply(0, "success", true));
    }
    // The cluster (Redis) is unreachable: code 0 only when every targeted user acked here, so a
    // backend that checks `code` never counts a push that did not reach everyone.
    bool everyone_acked = ack && to_users && result.offline.empty() && result.timed_out.empty();
    if (everyone_acked)
      return exchange->respond(
          seed_reply(0, "success on this node only: the cluster (Redis) is unreachable", result.acked));
    std::string msg =
        "not delivered to every user: the cluster (Redis) is unreachable, users on other nodes were "
        "not reached";
    if (!result.kept.empty()) {
      msg += "; kept for";
      for (const auto& uid : result.kept) msg += " " + uid;
      msg += " until they are back";
    }
    exchange->respond(ack ? seed_reply(1, msg, result.acked) : seed_reply(1, msg, true));
  });
}

void PushApi::push_offline_seed(const Exchange& exchange, const Fields& fields) {
  const auto& config = service_.config();
  std::string uid = fields.required_string("useraccount", config.max_id_length);
  auto messages = read_offline_messages(fields.value("msglist"));
  service_.push_offline(uid, std::move(messages), read_timeout(fields), [exchange](push::OfflineResult& result) {
    exchange->respond(seed_reply(0, "success", result.acked));
  });
}

void PushApi::change_room_seed(const Exchange& exchange, const Fields& fields) {
  const auto& config = service_.config();
  auto users = fields.list("useraccounts", config.max_targets, config.max_id_length, true);
  auto joins = fields.list("joins", config.max_targets, config.max_id_length, false);
  auto leaves = fields.list("leaves", config.max_targets, config.max_id_length, false);
  if (joins.empty() && leaves.empty()) throw BadRequest("joins or leaves is required");
  check_room_changes("useraccounts", users.size(), joins.size() + leaves.size());
  // The seed's answer says nothing of counts: no need to wait for the other nodes.
  service_.change_room(users, std::move(joins), std::move(leaves), false,
                       [exchange](push::ChangeRoomResult&) { exchange->respond(seed_reply(0, "success", true)); });
}

}  // namespace herald::api
