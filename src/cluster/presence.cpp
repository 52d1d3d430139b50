#include "cluster/presence.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "cluster/presence_keys.hpp"
#include "codec/json.hpp"

namespace herald::cluster {
namespace {

namespace keys = presence_keys;

// Deletes user@<uid> only if it still names this socket (a newer login may have replaced it).
constexpr const char* kDeleteIfSocket =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

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

Presence::Presence(Cluster& cluster, std::string nsp, std::string address, std::chrono::milliseconds heartbeat,
                   std::chrono::milliseconds recovery_window)
    : cluster_(cluster),
      nsp_(std::move(nsp)),
      address_(std::move(address)),
      heartbeat_(heartbeat),
      recovery_window_(recovery_window) {}

void Presence::start() {
  cluster_.on_connected([self = shared_from_this()] { self->restore(); });
  cluster_.post([self = shared_from_this()] {
    self->timer_ = std::make_unique<boost::asio::steady_timer>(self->cluster_.pool().loop(Cluster::kRedisLoop));
    self->heartbeat();
  });
}

void Presence::record_login(const std::string& uid, const std::string& socket_id, bool replace_latest) {
  cluster_.command({"HSET", keys::user(uid), socket_id, cluster_.uid()},
                   [](const redis::Reply& reply) { log_failure(reply, "HSET user"); });
  cluster_.command({"HSET", keys::sockets(cluster_.uid()), socket_id, uid},
                   [](const redis::Reply& reply) { log_failure(reply, "HSET node"); });
  std::vector<std::string> set{"SET", keys::latest(uid), socket_id};
  if (!replace_latest) set.emplace_back("NX");
  cluster_.command(std::move(set), [](const redis::Reply& reply) { log_failure(reply, "SET"); });
}

void Presence::remove_online_entry(const std::string& uid, const std::string& socket_id) {
  cluster_.command({"HDEL", keys::user(uid), socket_id}, [](const redis::Reply& r) { log_failure(r, "HDEL user"); });
  cluster_.command({"EVAL", kDeleteIfSocket, "1", keys::latest(uid), socket_id},
                   [](const redis::Reply& r) { log_failure(r, "EVAL"); });
}

void Presence::restore() {
  // Redis may have come back empty (a restart) or stale (logins and logouts made while it was
  // unreachable, or this node taken for dead meanwhile): write again what this node knows, then
  // drop the entries of sockets gone since.
  record_node();
  const std::string& node = cluster_.uid();
  cluster_.command({"SREM", keys::kGoneNodes, node}, [](const redis::Reply& r) { log_failure(r, "SREM gone"); });
  cluster_.command({"PERSIST", keys::sockets(node)}, [](const redis::Reply& r) { log_failure(r, "PERSIST"); });
  std::vector<const std::pair<const std::string, Login>*> newest_first;
  newest_first.reserve(logins_.size());
  for (const auto& entry : logins_) newest_first.push_back(&entry);
  std::sort(newest_first.begin(), newest_first.end(),
            [](const auto* a, const auto* b) { return a->second.seq > b->second.seq; });
  // user@<uid> names the latest login: the newest here, unless another node holds a newer one.
  for (const auto* entry : newest_first) record_login(entry->second.uid, entry->first, false);
  for (const auto& [socket_id, dropped] : dropped_)
    cluster_.command({"HSET", keys::sockets(node), socket_id, dropped.uid},
                     [](const redis::Reply& r) { log_failure(r, "HSET node"); });
  if (!logins_.empty()) spdlog::info("presence: recorded {} logins of this node in Redis again", logins_.size());
  remove_stale_sockets();
}

// Each key is touched by a command of its own (no script spans keys): in a Redis Cluster the
// user's keys and the node's lie in different slots.
void Presence::remove_stale_sockets() {
  std::string sockets_key = keys::sockets(cluster_.uid());
  cluster_.command({"HGETALL", sockets_key}, [self = shared_from_this(), sockets_key](const redis::Reply& reply) {
    if (reply.type != redis::Reply::Type::Array) return log_failure(reply, "HGETALL node");
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      const std::string& socket_id = reply.elements[i].str;
      if (self->logins_.contains(socket_id) || self->dropped_.contains(socket_id)) continue;  // still here
      self->remove_online_entry(reply.elements[i + 1].str, socket_id);
      self->cluster_.command({"HDEL", sockets_key, socket_id},
                             [](const redis::Reply& r) { log_failure(r, "HDEL node"); });
    }
  });
}

void Presence::logged_in(const std::string& uid, const std::string& socket_id) {
  herald::Json notice{{"uid", uid},
                      {"socketId", socket_id},
                      {"nsp", nsp_},
                      {"node", cluster_.uid()},
                      {"time", std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count()}};
  cluster_.post([self = shared_from_this(), uid, socket_id, notice = notice.dump()] {
    self->dropped_.erase(socket_id);  // it came back here
    self->logins_[socket_id] = Login{uid, ++self->login_seq_};
    self->record_login(uid, socket_id, true);
    self->cluster_.publish("login", notice);
  });
}

void Presence::logged_out(const std::string& uid, const std::string& socket_id) {
  cluster_.post([self = shared_from_this(), uid, socket_id] {
    self->logins_.erase(socket_id);
    self->dropped_.erase(socket_id);
    self->remove_online_entry(uid, socket_id);
    self->cluster_.command({"HDEL", keys::sockets(self->cluster_.uid()), socket_id},
                           [](const redis::Reply& reply) { log_failure(reply, "HDEL node"); });
  });
}

void Presence::dropped(const std::string& uid, const std::string& socket_id) {
  if (recovery_window_.count() <= 0) return logged_out(uid, socket_id);
  // The user is not online (user@ and herald:user say so), but the node's list keeps the socket
  // until its session ends: if this node dies meanwhile, the others still know the user is away.
  cluster_.post([self = shared_from_this(), uid, socket_id] {
    self->logins_.erase(socket_id);
    self->dropped_[socket_id] = Dropped{uid, std::chrono::steady_clock::now() + self->recovery_window_};
    self->remove_online_entry(uid, socket_id);
  });
}

void Presence::expire_dropped() {
  auto now = std::chrono::steady_clock::now();
  const std::string sockets_key = keys::sockets(cluster_.uid());
  for (auto it = dropped_.begin(); it != dropped_.end();) {
    if (it->second.until > now) {
      ++it;
      continue;
    }
    cluster_.command({"HDEL", sockets_key, it->first}, [](const redis::Reply& r) { log_failure(r, "HDEL node"); });
    it = dropped_.erase(it);
  }
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
