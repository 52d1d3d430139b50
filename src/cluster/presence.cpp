#include "cluster/presence.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

namespace herald::cluster {
namespace {

constexpr int kSweepEveryTicks = 6;

// Deletes user@<uid> only if it still names this socket (a newer login may have replaced it).
constexpr const char* kDeleteIfSocket =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
// Removes every entry a dead node left behind, then the node itself.
constexpr const char* kSweepNode =
    "local sockets = redis.call('HGETALL', KEYS[1]) "
    "for i = 1, #sockets, 2 do "
    "  redis.call('HDEL', 'herald:user:' .. sockets[i + 1], sockets[i]) "
    "  if redis.call('GET', 'user@' .. sockets[i + 1]) == sockets[i] then redis.call('DEL', 'user@' .. sockets[i + 1]) "
    "end "
    "end "
    "redis.call('DEL', KEYS[1]) redis.call('SREM', 'herald:nodes', ARGV[1]) return #sockets / 2";

void log_failure(const redis::Reply& reply, const char* what) {
  if (reply.is_error()) spdlog::debug("presence: {} failed: {}", what, reply.str);
}

std::vector<std::string> split_rooms(const std::string& text) {
  std::vector<std::string> rooms;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string room = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!room.empty()) rooms.push_back(room);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return rooms;
}

std::string join_rooms(const std::vector<std::string>& rooms) {
  std::string text;
  for (const auto& room : rooms) text += (text.empty() ? "" : ",") + room;
  return text;
}

}  // namespace

Presence::Presence(Cluster& cluster, std::string nsp, std::string address, std::chrono::milliseconds heartbeat)
    : cluster_(cluster), nsp_(std::move(nsp)), address_(std::move(address)), heartbeat_(heartbeat) {}

void Presence::start() {
  cluster_.on_connected([self = shared_from_this()] { self->restore(); });
  cluster_.post([self = shared_from_this()] {
    self->timer_ = std::make_unique<boost::asio::steady_timer>(self->cluster_.pool().loop(Cluster::kRedisLoop));
    self->heartbeat();
  });
}

void Presence::heartbeat() {
  record_node();
  if (ticks_++ % kSweepEveryTicks == 0) sweep();
  timer_->expires_after(heartbeat_);
  timer_->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->heartbeat();
  });
}

void Presence::record_node() {
  nlohmann::json node{{"address", address_}, {"pid", ::getpid()}};
  const std::string& uid = cluster_.uid();
  cluster_.command({"SET", "herald:node:" + uid, node.dump(), "PX", std::to_string(heartbeat_.count() * 3)},
                   [](const redis::Reply& reply) { log_failure(reply, "heartbeat"); });
  cluster_.command({"SADD", "herald:nodes", uid}, [](const redis::Reply& reply) { log_failure(reply, "SADD"); });
}

void Presence::record_login(const std::string& uid, const std::string& socket_id, bool replace_latest) {
  const std::string& node = cluster_.uid();
  cluster_.command({"HSET", "herald:user:" + uid, socket_id, node},
                   [](const redis::Reply& reply) { log_failure(reply, "HSET user"); });
  cluster_.command({"HSET", "herald:node:" + node + ":sockets", socket_id, uid},
                   [](const redis::Reply& reply) { log_failure(reply, "HSET node"); });
  std::vector<std::string> set{"SET", "user@" + uid, socket_id};
  if (!replace_latest) set.emplace_back("NX");
  cluster_.command(std::move(set), [](const redis::Reply& reply) { log_failure(reply, "SET"); });
}

void Presence::restore() {
  // Redis may have come back empty (a restart) or stale (logins and logouts made while it was
  // unreachable): drop what it holds for this node, then write again what this node knows.
  const std::string& node = cluster_.uid();
  cluster_.command({"EVAL", kSweepNode, "1", "herald:node:" + node + ":sockets", node},
                   [](const redis::Reply& reply) { log_failure(reply, "restore sweep"); });
  record_node();
  std::vector<const std::pair<const std::string, Login>*> newest_first;
  newest_first.reserve(logins_.size());
  for (const auto& entry : logins_) newest_first.push_back(&entry);
  std::sort(newest_first.begin(), newest_first.end(),
            [](const auto* a, const auto* b) { return a->second.seq > b->second.seq; });
  // user@<uid> names the latest login: the newest here, unless another node holds a newer one.
  for (const auto* entry : newest_first) record_login(entry->second.uid, entry->first, false);
  if (!logins_.empty()) spdlog::info("presence: recorded {} logins of this node in Redis again", logins_.size());
}

void Presence::sweep() {
  cluster_.command({"SMEMBERS", "herald:nodes"}, [self = shared_from_this()](const redis::Reply& nodes) {
    if (nodes.type != redis::Reply::Type::Array) return;
    for (const auto& node : nodes.elements) {
      std::string uid = node.str;
      self->cluster_.command({"EXISTS", "herald:node:" + uid}, [self, uid](const redis::Reply& alive) {
        if (alive.is_error() || alive.integer != 0) return;
        self->cluster_.command({"EVAL", kSweepNode, "1", "herald:node:" + uid + ":sockets", uid},
                               [uid](const redis::Reply& reply) {
                                 if (!reply.is_error() && reply.integer > 0)
                                   spdlog::info("presence: removed {} sockets of dead node {}", reply.integer, uid);
                               });
      });
    }
  });
}

void Presence::logged_in(const std::string& uid, const std::string& socket_id) {
  nlohmann::json notice{{"uid", uid},
                        {"socketId", socket_id},
                        {"nsp", nsp_},
                        {"node", cluster_.uid()},
                        {"time", std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count()}};
  cluster_.post([self = shared_from_this(), uid, socket_id, notice = notice.dump()] {
    self->logins_[socket_id] = Login{uid, ++self->login_seq_};
    self->record_login(uid, socket_id, true);
    self->cluster_.publish("login", notice);
  });
}

void Presence::logged_out(const std::string& uid, const std::string& socket_id) {
  cluster_.post([self = shared_from_this(), uid, socket_id] {
    self->logins_.erase(socket_id);
    const std::string& node = self->cluster_.uid();
    self->cluster_.command({"HDEL", "herald:user:" + uid, socket_id},
                           [](const redis::Reply& reply) { log_failure(reply, "HDEL user"); });
    self->cluster_.command({"HDEL", "herald:node:" + node + ":sockets", socket_id},
                           [](const redis::Reply& reply) { log_failure(reply, "HDEL node"); });
    self->cluster_.command({"EVAL", kDeleteIfSocket, "1", "user@" + uid, socket_id},
                           [](const redis::Reply& reply) { log_failure(reply, "EVAL"); });
  });
}

void Presence::forget_node() {
  cluster_.post([self = shared_from_this()] {
    const std::string& uid = self->cluster_.uid();
    self->cluster_.command({"DEL", "herald:node:" + uid}, [](const redis::Reply&) {});
    self->cluster_.command({"EVAL", kSweepNode, "1", "herald:node:" + uid + ":sockets", uid},
                           [](const redis::Reply&) {});
  });
}

void RedisRoomDirectory::rooms_of(const std::string& uid, std::function<void(std::vector<std::string>)> done) {
  cluster_.post([this, uid, done = std::move(done)]() mutable {
    cluster_.command({"GET", "room@" + uid}, [uid, done = std::move(done)](const redis::Reply& reply) {
      if (reply.is_error()) spdlog::warn("rooms of {} unavailable: {}", uid, reply.str);
      done(reply.type == redis::Reply::Type::String ? split_rooms(reply.str) : std::vector<std::string>{});
    });
  });
}

void RedisRoomDirectory::set_rooms(const std::string& uid, std::vector<std::string> rooms) {
  cluster_.post([this, uid, rooms = std::move(rooms)] {
    std::vector<std::string> command = rooms.empty()
                                           ? std::vector<std::string>{"DEL", "room@" + uid}
                                           : std::vector<std::string>{"SET", "room@" + uid, join_rooms(rooms)};
    cluster_.command(std::move(command), [](const redis::Reply& reply) { log_failure(reply, "room@ SET"); });
  });
}

void RedisRoomDirectory::change_rooms(const std::string& uid, const std::vector<std::string>& joins,
                                      const std::vector<std::string>& leaves) {
  // A read-modify-write in one script, so concurrent changes do not lose each other.
  static constexpr const char* kChange =
      "local rooms = {} local seen = {} local current = redis.call('GET', KEYS[1]) "
      "local leave = {} for room in string.gmatch(ARGV[2], '[^,]+') do leave[room] = true end "
      "if current then for room in string.gmatch(current, '[^,]+') do "
      "  if not leave[room] and not seen[room] then table.insert(rooms, room) seen[room] = true end end end "
      "for room in string.gmatch(ARGV[1], '[^,]+') do if not seen[room] then table.insert(rooms, room) seen[room] = "
      "true end end "
      "if #rooms == 0 then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], table.concat(rooms, ',')) end "
      "return #rooms";
  cluster_.post([this, uid, joins = join_rooms(joins), leaves = join_rooms(leaves)] {
    cluster_.command({"EVAL", kChange, "1", "room@" + uid, joins, leaves},
                     [](const redis::Reply& reply) { log_failure(reply, "room@ change"); });
  });
}

}  // namespace herald::cluster
