#include "cluster/redis_pending_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>
#include <unordered_set>

#include "codec/json_depth.hpp"
#include "codec/raw_json.hpp"
#include "metrics/metrics.hpp"
#include "net/fan_in.hpp"
#include "push/clock.hpp"

namespace herald::cluster {
namespace {

using push::MessageState;
using push::PendingMessage;
using Clock = std::chrono::system_clock;
using Json = herald::Json;

// How long an ack (and the end of a message) is remembered: an acked message is not kept again.
constexpr int64_t kRememberMs = int64_t{10} * 60 * 1000;

// Users with messages written after an outage, for nodes that reconnect later than the writer.
constexpr const char* kRedeliverKey = "herald:redeliver";
constexpr int64_t kRedeliverListMs = int64_t{60} * 1000;

// Keeps one message for one user. KEYS: order, bodies, acked. ARGV: msgId, score, body,
// per-user bound, time to live (ms). Returns {1 kept | 0 kept already | -1 acked already,
// msgIds dropped by the bound...}.
constexpr const char* kKeep =
    "if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return {-1} end "
    "if redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) == 0 then return {0} end "
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) "
    "local ttl = tonumber(ARGV[5]) "
    "for i = 1, 2 do if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end end "
    "local out = {1} "
    "while redis.call('ZCARD', KEYS[1]) > tonumber(ARGV[4]) do "
    "  local oldest = redis.call('ZPOPMIN', KEYS[1]) "
    "  redis.call('HDEL', KEYS[2], oldest[1]) table.insert(out, oldest[1]) "
    "end "
    "return out";
// The user's messages in order. KEYS: order, bodies. Returns {msgId, body, ...}.
constexpr const char* kTake =
    "local out = {} "
    "for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
    "  local body = redis.call('HGET', KEYS[2], id) "
    "  if body then table.insert(out, id) table.insert(out, body) else redis.call('ZREM', KEYS[1], id) end "
    "end "
    "return out";
// An ack. KEYS: order, bodies, acked. ARGV: msgId, now (ms), remember (ms). Returns 1 when it was pending.
constexpr const char* kAck =
    "local removed = redis.call('ZREM', KEYS[1], ARGV[1]) redis.call('HDEL', KEYS[2], ARGV[1]) "
    "redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1]) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3])) "
    "redis.call('PEXPIRE', KEYS[3], ARGV[3]) return removed";
// Removes messages whose time to live ended. KEYS: order, bodies. ARGV: msgIds.
constexpr const char* kForget =
    "for i = 1, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) redis.call('HDEL', KEYS[2], ARGV[i]) end return #ARGV";
// Records a user's state of a message. KEYS: the message's record. ARGV: uid, state, keep (ms),
// "new" to leave a state already recorded (an ack on another node may come before "pending").
constexpr const char* kMark =
    "if ARGV[4] == 'new' then redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) "
    "else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end "
    "if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end return 1";

using push::epoch_ms;
using push::epoch_us;
using push::from_epoch_ms;

int64_t now_ms() { return epoch_ms(Clock::now()); }

// A hash tag holding `id` exactly: the braces that end a tag, and the escape itself, are escaped.
std::string tag(std::string_view id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "{";
  for (char c : id) {
    if (c == '{' || c == '}' || c == '%') {
      out += '%';
      out += kHex[static_cast<unsigned char>(c) >> 4];
      out += kHex[static_cast<unsigned char>(c) & 15];
    } else {
      out += c;
    }
  }
  return out + "}";
}

struct UserKeys {
  std::string order, bodies, acked;
  explicit UserKeys(std::string_view uid)
      : order("herald:pending:" + tag(uid)), bodies(order + ":body"), acked(order + ":acked") {}
};

std::string record_key(std::string_view msg_id) { return "herald:msg:" + tag(msg_id); }

std::optional<PendingMessage> parse_body(const std::string& msg_id, const std::string& text) {
  if (!codec::json_depth_within(text)) return std::nullopt;
  Json body = Json::parse(text, nullptr, false);
  if (!body.is_object() || !body["e"].is_string() || !body["x"].is_number_integer()) return std::nullopt;
  PendingMessage message;
  message.msg_id = msg_id;
  message.event = body["e"].get<std::string>();
  message.message = std::move(body["m"]);
  // The message goes back to clients as the text it was kept as (a pushed message as written).
  for (const auto& [key, value] : codec::object_members(text))
    if (key == "m")
      if (auto raw = codec::raw_json(value)) message.message = std::move(*raw);
  message.expires = from_epoch_ms(body["x"].get<int64_t>());
  return message;
}

std::optional<MessageState> parse_state(const std::string& text, Clock::time_point now) {
  // "<state> <at ms> <expiry ms>"
  auto first = text.find(' ');
  auto second = first == std::string::npos ? std::string::npos : text.find(' ', first + 1);
  if (second == std::string::npos) return std::nullopt;
  std::string name = text.substr(0, first);
  MessageState state;
  try {
    state.at = from_epoch_ms(std::stoll(text.substr(first + 1, second - first - 1)));
    auto expires = from_epoch_ms(std::stoll(text.substr(second + 1)));
    if (name == "pending") {
      state.state = expires > now ? MessageState::State::Pending : MessageState::State::Expired;
      if (expires <= now) state.at = expires;
    } else if (name == "acked") {
      state.state = MessageState::State::Acked;
    } else if (name == "expired") {
      state.state = MessageState::State::Expired;
    } else if (name == "dropped") {
      state.state = MessageState::State::Dropped;
    } else {
      return std::nullopt;
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return state;
}

}  // namespace

RedisPendingStore::RedisPendingStore(Cluster& cluster, push::PendingLimits limits)
    : cluster_(cluster), limits_(limits), buffer_(limits) {
  cluster_.on_connected([this] { reconnected(); });
}

void RedisPendingStore::mark(const std::string& msg_id, const std::string& uid, const char* state, int64_t at,
                             int64_t keep_until) {
  // Pending is the first state: it never replaces an ack, an expiry or a drop recorded meanwhile.
  const char* when = std::string_view(state) == "pending" ? "new" : "always";
  std::string value = std::string(state) + " " + std::to_string(at) + " " + std::to_string(keep_until);
  cluster_.command({"EVAL", kMark, "1", record_key(msg_id), uid, std::move(value),
                    std::to_string(std::max<int64_t>(keep_until - at, kRememberMs)), when},
                   [](const redis::Reply&) {});
}

void RedisPendingStore::write(const std::string& uid, const PendingMessage& message, std::function<void(bool)> done) {
  int64_t now = now_ms();
  int64_t expires = epoch_ms(message.expires);
  if (expires <= now) return done(true);  // nothing left to keep
  auto score = epoch_us(message.accepted);
  Json body{{"e", message.event}, {"m", message.message}, {"x", expires}};
  UserKeys keys(uid);
  cluster_.command(
      {"EVAL", kKeep, "3", keys.order, keys.bodies, keys.acked, message.msg_id, std::to_string(score),
       codec::to_json_text(body), std::to_string(limits_.per_user), std::to_string(expires - now)},
      [this, uid, msg_id = message.msg_id, now, expires, done = std::move(done)](const redis::Reply& reply) {
        if (reply.type != redis::Reply::Type::Array || reply.elements.empty()) {
          if (reply.is_error()) spdlog::debug("pending: keeping {} for {} failed: {}", msg_id, uid, reply.str);
          return done(false);
        }
        auto& metrics = metrics::global();
        if (reply.elements[0].integer == 1) {
          metrics.pending_kept.fetch_add(1, std::memory_order_relaxed);
          mark(msg_id, uid, "pending", now, expires);
        }
        for (size_t i = 1; i < reply.elements.size(); ++i) {
          metrics.pending_dropped.fetch_add(1, std::memory_order_relaxed);
          mark(reply.elements[i].str, uid, "dropped", now, now + kRememberMs);
        }
        done(true);
      });
}

void RedisPendingStore::hold(const std::string& uid, const PendingMessage& message) {
  if (buffer_.add(uid, message)) metrics::global().pending_buffered.fetch_add(1, std::memory_order_relaxed);
}

void RedisPendingStore::keep(const std::string& uid, const PendingMessage& message, std::function<void()> done) {
  if (!cluster_.reachable()) {
    hold(uid, message);
    if (done) done();
    return;
  }
  cluster_.post([this, uid, message, done = std::move(done)]() mutable {
    write(uid, message, [this, uid, message, done = std::move(done)](bool written) {
      if (!written) hold(uid, message);
      if (done) done();
    });
  });
}

void RedisPendingStore::pending_of(const std::string& uid, std::function<void(Messages)> done) {
  cluster_.post([this, uid, done = std::move(done)]() mutable {
    UserKeys keys(uid);
    cluster_.command({"EVAL", kTake, "2", keys.order, keys.bodies},
                     [this, uid, keys, done = std::move(done)](const redis::Reply& reply) {
                       Messages messages;
                       std::vector<std::string> ended;
                       auto now = Clock::now();
                       if (reply.type == redis::Reply::Type::Array) {
                         for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
                           const std::string& msg_id = reply.elements[i].str;
                           auto message = parse_body(msg_id, reply.elements[i + 1].str);
                           if (message && message->expires > now) {
                             messages.push_back(std::move(*message));
                           } else {
                             ended.push_back(msg_id);
                             if (message)
                               mark(msg_id, uid, "expired", epoch_ms(message->expires), epoch_ms(now) + kRememberMs);
                           }
                         }
                       }
                       if (!ended.empty()) {
                         metrics::global().pending_expired.fetch_add(ended.size(), std::memory_order_relaxed);
                         std::vector<std::string> forget{"EVAL", kForget, "2", keys.order, keys.bodies};
                         forget.insert(forget.end(), ended.begin(), ended.end());
                         cluster_.command(std::move(forget), [](const redis::Reply&) {});
                       }
                       // What waits here for Redis comes after what Redis holds (it was kept later).
                       std::unordered_set<std::string> seen;
                       for (const auto& message : messages) seen.insert(message.msg_id);
                       for (auto& message : buffer_.of(uid))
                         if (!seen.contains(message.msg_id)) messages.push_back(std::move(message));
                       done(std::move(messages));
                     });
  });
}

void RedisPendingStore::acked(const std::string& uid, const std::string& msg_id, std::function<void(bool)> done) {
  bool held_here = buffer_.acked(uid, msg_id);
  cluster_.post([this, uid, msg_id, held_here, done = std::move(done)]() mutable {
    UserKeys keys(uid);
    int64_t now = now_ms();
    cluster_.command({"EVAL", kAck, "3", keys.order, keys.bodies, keys.acked, msg_id, std::to_string(now),
                      std::to_string(kRememberMs)},
                     [this, uid, msg_id, now, held_here, done = std::move(done)](const redis::Reply& reply) {
                       bool was_pending =
                           held_here || (reply.type == redis::Reply::Type::Integer && reply.integer == 1);
                       if (was_pending) mark(msg_id, uid, "acked", now, now + kRememberMs);
                       if (done) done(was_pending);
                     });
  });
}

void RedisPendingStore::states(const std::string& msg_id, std::function<void(States)> done) {
  cluster_.post([this, msg_id, done = std::move(done)]() mutable {
    cluster_.command({"HGETALL", record_key(msg_id)},
                     [this, msg_id, done = std::move(done)](const redis::Reply& reply) {
                       std::map<std::string, MessageState> by_user;
                       auto now = Clock::now();
                       if (reply.type == redis::Reply::Type::Array) {
                         for (size_t i = 0; i + 1 < reply.elements.size(); i += 2)
                           if (auto state = parse_state(reply.elements[i + 1].str, now))
                             by_user[reply.elements[i].str] = *state;
                       }
                       for (auto& [uid, state] : buffer_.states(msg_id)) by_user.try_emplace(uid, state);
                       done(States(by_user.begin(), by_user.end()));
                     });
  });
}

void RedisPendingStore::reconnected() {
  cluster_.command({"LRANGE", kRedeliverKey, "0", "-1"}, [this](const redis::Reply& reply) {
    std::unordered_set<std::string> users;
    if (reply.type == redis::Reply::Type::Array) {
      for (const auto& entry : reply.elements) {
        Json uids = codec::json_depth_within(entry.str) ? Json::parse(entry.str, nullptr, false) : Json();
        if (uids.is_array())
          for (const auto& uid : uids)
            if (uid.is_string()) users.insert(uid.get<std::string>());
      }
    }
    if (!users.empty() && redeliver_) redeliver_({users.begin(), users.end()}, false);
    flush();
  });
}

void RedisPendingStore::flush() {
  auto held = buffer_.drain();
  if (held.empty()) return;
  std::unordered_set<std::string> unique;
  for (const auto& [uid, message] : held) unique.insert(uid);
  std::vector<std::string> users(unique.begin(), unique.end());
  spdlog::info("pending: writing {} acked pushes kept during the Redis outage ({} users)", held.size(), users.size());
  // Once every write has answered: nodes connected now hear the message; nodes that reconnect
  // within a minute read the list.
  auto written_all = net::FanIn<std::vector<std::string>>::expect(
      held.size(),
      [this](std::vector<std::string>& users_written) {
        cluster_.command({"RPUSH", kRedeliverKey, Json(users_written).dump()}, [](const redis::Reply&) {});
        cluster_.command({"PEXPIRE", kRedeliverKey, std::to_string(kRedeliverListMs)}, [](const redis::Reply&) {});
        if (redeliver_) redeliver_(users_written, true);
      },
      std::move(users));
  for (auto& item : held) {
    write(item.first, item.second, [this, written_all, uid = item.first, message = item.second](bool written) {
      if (!written) hold(uid, message);  // Redis went away again: the next connection writes it
      written_all->arrived();
    });
  }
}

}  // namespace herald::cluster
