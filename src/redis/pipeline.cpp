// The Redis connection's pipeline: commands encoded and batched per loop turn, replies matched to
// commands in order, pub/sub messages and confirmations, the command deadline and the keepalive
// PING. The connect sequence is in connection.cpp.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "redis/connection_impl.hpp"

namespace herald::redis {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using boost::system::error_code;

constexpr size_t kKeptWriteBuffer = 1 << 20;  // a larger write buffer is released after use

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::string describe_error(const error_code& ec) {
  if (ec == asio::error::eof || ec == ssl::error::stream_truncated) return "connection closed by the server";
  return ec.message();
}

}  // namespace

void ConnectionImpl::command(std::vector<std::string> args, ReplyHandler done) {
  if (state_ != State::Connected || args.empty()) {
    std::string error = args.empty() ? "redis: empty command" : "redis not connected: " + not_connected_reason();
    asio::post(loop_, [done = std::move(done), error = std::move(error)] {
      if (done) done(Reply::error(error));
    });
    return;
  }
  send(args, std::move(done));
}

void ConnectionImpl::subscribe(const std::string& channel) {
  if (channels_.insert(channel).second && writable_) send_subscription("SUBSCRIBE", channel);
}

void ConnectionImpl::psubscribe(const std::string& pattern) {
  if (patterns_.insert(pattern).second && writable_) send_subscription("PSUBSCRIBE", pattern);
}

void ConnectionImpl::unsubscribe(const std::string& channel) {
  if (channels_.erase(channel) > 0 && writable_) send_subscription("UNSUBSCRIBE", channel);
}

void ConnectionImpl::ssubscribe(const std::string& channel) {
  if (shard_channels_.insert(channel).second && writable_) send_subscription("SSUBSCRIBE", channel);
}

void ConnectionImpl::sunsubscribe(const std::string& channel) {
  if (shard_channels_.erase(channel) > 0 && writable_) send_subscription("SUNSUBSCRIBE", channel);
}

void ConnectionImpl::command_each_master(std::vector<std::string> args,
                                         std::function<void(const std::vector<Reply>& replies)> done) {
  command(std::move(args), [done = std::move(done)](const Reply& reply) { done({reply}); });
}

void ConnectionImpl::send(const std::vector<std::string>& args, ReplyHandler done, size_t confirmations) {
  if (!encode_command(args, out_)) {
    asio::post(loop_, [done = std::move(done)] {
      if (done) done(Reply::error("redis: cannot encode command"));
    });
    return;
  }
  pending_.push_back(Pending{std::move(done), Clock::now() + options_.command_timeout, confirmations});
  arm_command_timer();
  schedule_flush();
}

void ConnectionImpl::send_subscription(const char* command, const std::string& name) {
  subscribed_ = true;
  send(
      {command, name},
      [connection = name_, command = std::string(command)](const Reply& reply) {
        if (reply.is_error()) spdlog::warn("redis: {}: {}: {}", connection, command, reply.str);
      },
      1);
}

void ConnectionImpl::send_subscriptions(const char* command, const std::set<std::string>& names, ReplyHandler done) {
  subscribed_ = true;
  std::vector<std::string> args{command};
  args.insert(args.end(), names.begin(), names.end());
  send(args, std::move(done), names.size());
}

void ConnectionImpl::schedule_flush() {
  if (flush_posted_ || !transport_ || transport_->writing) return;
  flush_posted_ = true;
  asio::post(loop_, in_attempt([this] {
               flush_posted_ = false;
               flush();
             }));
}

void ConnectionImpl::flush() {
  if (!transport_ || transport_->writing || out_.empty()) return;
  auto transport = transport_;
  transport->write_buffer.swap(out_);
  out_.clear();
  transport->writing = true;
  transport->write(in_attempt([this, transport](error_code ec, size_t) {
    transport->writing = false;
    if (transport->write_buffer.capacity() > kKeptWriteBuffer) {
      std::string().swap(transport->write_buffer);
    } else {
      transport->write_buffer.clear();
    }
    if (ec) {
      std::string error = describe_error(ec);
      fail(error, "redis connection lost: " + error);
      return;
    }
    flush();  // what was queued meanwhile
  }));
}

void ConnectionImpl::read() {
  auto transport = transport_;
  transport->read(
      in_attempt([this, transport](error_code ec, size_t size) { on_read(ec, transport->read_buffer.data(), size); }));
}

void ConnectionImpl::on_read(error_code ec, const char* data, size_t size) {
  if (ec) {
    std::string error = describe_error(ec);
    fail(error, "redis connection lost: " + error);
    return;
  }
  if (!reader_->feed(data, size)) {
    std::string error = "protocol error: " + reader_->error();
    fail(error, "redis connection lost: " + error);
    return;
  }
  const uint64_t attempt = attempt_;
  Reply reply;
  while (true) {
    ReplyReader::Result result = reader_->next(reply);
    if (result == ReplyReader::Result::NeedMore) break;
    if (result == ReplyReader::Result::Error) {
      std::string error = "protocol error: " + reader_->error();
      fail(error, "redis connection lost: " + error);
      return;
    }
    dispatch(reply);
    if (attempt_ != attempt) return;  // a handler dropped or stopped the connection
  }
  read();
}

void ConnectionImpl::dispatch(const Reply& reply) {
  if (subscribed_ && reply.type == Reply::Type::Array && !reply.elements.empty() &&
      reply.elements[0].type == Reply::Type::String) {
    const std::vector<Reply>& parts = reply.elements;
    std::string_view kind = parts[0].str;
    if (kind == "message" && parts.size() == 3) {
      if (message_handler_) message_handler_({}, parts[1].str, parts[2].str);
      return;
    }
    if (kind == "smessage" && parts.size() == 3) {
      if (message_handler_) message_handler_({}, parts[1].str, parts[2].str);
      return;
    }
    if (kind == "pmessage" && parts.size() == 4) {
      if (message_handler_) message_handler_(parts[1].str, parts[2].str, parts[3].str);
      return;
    }
    if (kind == "subscribe" || kind == "psubscribe" || kind == "unsubscribe" || kind == "punsubscribe" ||
        kind == "ssubscribe" || kind == "sunsubscribe") {
      if (!pending_.empty() && pending_.front().confirmations > 0 && --pending_.front().confirmations == 0) {
        complete_front(reply);
      }
      return;
    }
  }
  if (pending_.empty()) {
    std::string error = "protocol error: a reply that no command waits for";
    fail(error, "redis connection lost: " + error);
    return;
  }
  const uint64_t attempt = attempt_;
  complete_front(reply);
  // A replica after a failover: the master is now elsewhere, probably behind the same address.
  if (attempt_ == attempt && reply.is_error() && starts_with(reply.str, "READONLY")) {
    fail(reply.str, "redis connection lost: " + reply.str);
  }
}

void ConnectionImpl::complete_front(const Reply& reply) {
  ReplyHandler done = std::move(pending_.front().done);
  pending_.pop_front();
  if (done) done(reply);
}

void ConnectionImpl::arm_command_timer() {
  if (command_timer_armed_ || pending_.empty()) return;
  command_timer_armed_ = true;
  command_timer_.expires_at(pending_.front().deadline);
  command_timer_.async_wait(in_attempt([this](error_code ec) {
    command_timer_armed_ = false;
    if (ec || pending_.empty()) return;
    if (pending_.front().deadline <= Clock::now()) {
      fail("timeout: no reply within " + ms_text(options_.command_timeout), "redis timeout");
      return;
    }
    arm_command_timer();
  }));
}

void ConnectionImpl::arm_ping_timer() {
  if (options_.ping_interval.count() <= 0) return;
  ping_timer_.expires_after(options_.ping_interval);
  ping_timer_.async_wait(in_attempt([this](error_code ec) {
    if (ec || state_ != State::Connected) return;
    if (!pending_.empty()) {
      // busy: its replies show it is alive
    } else if (options_.require_master && !subscribed_) {
      send({"ROLE"}, in_attempt([this](const Reply& reply) {
             std::string why = not_master(reply);
             if (!why.empty()) fail(why, "redis connection lost: " + why);
           }));
    } else {
      send({"PING"}, nullptr);
    }
    arm_ping_timer();
  }));
}

}  // namespace herald::redis
