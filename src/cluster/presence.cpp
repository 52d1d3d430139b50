#include "cluster/presence.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <vector>

#include "codec/json.hpp"

namespace herald::cluster {
namespace {

constexpr int kSweepEveryTicks = 6;

// Deletes user@<uid> only if it still names this socket (a newer login may have replaced it).
constexpr const char* kDeleteIfSocket =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
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
  herald::Json node{{"address", address_}, {"pid", ::getpid()}};
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
  // unreachable): write again what this node knows, then drop the entries of sockets gone since.
  record_node();
  std::vector<const std::pair<const std::string, Login>*> newest_first;
  newest_first.reserve(logins_.size());
  for (const auto& entry : logins_) newest_first.push_back(&entry);
  std::sort(newest_first.begin(), newest_first.end(),
            [](const auto* a, const auto* b) { return a->second.seq > b->second.seq; });
  // user@<uid> names the latest login: the newest here, unless another node holds a newer one.
  for (const auto* entry : newest_first) record_login(entry->second.uid, entry->first, false);
  if (!logins_.empty()) spdlog::info("presence: recorded {} logins of this node in Redis again", logins_.size());
  remove_sockets(cluster_.uid(), false);
}

// Each key is touched by a command of its own (no script spans keys): in a Redis Cluster the
// user's keys and the node's lie in different slots.
void Presence::remove_sockets(const std::string& node, bool node_is_gone) {
  std::string sockets_key = "herald:node:" + node + ":sockets";
  cluster_.command({"HGETALL", sockets_key}, [self = shared_from_this(), node, node_is_gone,
                                              sockets_key](const redis::Reply& reply) {
    if (reply.type != redis::Reply::Type::Array) return log_failure(reply, "HGETALL node");
    size_t removed = 0;
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      const std::string& socket_id = reply.elements[i].str;
      const std::string& uid = reply.elements[i + 1].str;
      if (!node_is_gone && self->logins_.contains(socket_id)) continue;  // still here
      ++removed;
      self->cluster_.command({"HDEL", "herald:user:" + uid, socket_id},
                             [](const redis::Reply& r) { log_failure(r, "HDEL user"); });
      self->cluster_.command({"EVAL", kDeleteIfSocket, "1", "user@" + uid, socket_id},
                             [](const redis::Reply& r) { log_failure(r, "EVAL"); });
      if (!node_is_gone)
        self->cluster_.command({"HDEL", sockets_key, socket_id},
                               [](const redis::Reply& r) { log_failure(r, "HDEL node"); });
    }
    if (node_is_gone) {
      self->cluster_.command({"DEL", sockets_key}, [](const redis::Reply& r) { log_failure(r, "DEL node"); });
      self->cluster_.command({"SREM", "herald:nodes", node}, [](const redis::Reply& r) { log_failure(r, "SREM"); });
      if (removed > 0 && node != self->cluster_.uid())
        spdlog::info("presence: removed {} sockets of dead node {}", removed, node);
    }
  });
}

void Presence::sweep() {
  cluster_.command({"SMEMBERS", "herald:nodes"}, [self = shared_from_this()](const redis::Reply& nodes) {
    if (nodes.type != redis::Reply::Type::Array) return;
    for (const auto& node : nodes.elements) {
      std::string uid = node.str;
      self->cluster_.command({"EXISTS", "herald:node:" + uid}, [self, uid](const redis::Reply& alive) {
        if (alive.is_error() || alive.integer != 0) return;
        self->remove_sockets(uid, true);
      });
    }
  });
}

void Presence::users_on_nodes_except(std::vector<std::string> counted,
                                     std::function<void(std::vector<std::string> users)> done) {
  cluster_.post([self = shared_from_this(), counted = std::move(counted), done = std::move(done)]() mutable {
    self->cluster_.command({"SMEMBERS", "herald:nodes"}, [self, counted = std::move(counted),
                                                          done = std::move(done)](const redis::Reply& nodes) mutable {
      std::vector<std::string> silent;
      if (nodes.type == redis::Reply::Type::Array)
        for (const auto& node : nodes.elements)
          if (node.str != self->cluster_.uid() && std::find(counted.begin(), counted.end(), node.str) == counted.end())
            silent.push_back(node.str);
      if (silent.empty()) return done({});
      struct Gathered {
        std::set<std::string> users;
        size_t nodes_left;
        std::function<void(std::vector<std::string>)> done;
      };
      auto gathered = std::make_shared<Gathered>(Gathered{{}, silent.size(), std::move(done)});
      for (const auto& node : silent)
        self->cluster_.command({"HVALS", "herald:node:" + node + ":sockets"}, [gathered](const redis::Reply& reply) {
          if (reply.type == redis::Reply::Type::Array)
            for (const auto& uid : reply.elements) gathered->users.insert(uid.str);
          else
            log_failure(reply, "HVALS node");
          if (--gathered->nodes_left == 0)
            gathered->done(std::vector<std::string>(gathered->users.begin(), gathered->users.end()));
        });
    });
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
    self->remove_sockets(uid, true);
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
