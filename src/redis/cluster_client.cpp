#include "redis/cluster_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

namespace herald::redis {
namespace {

namespace asio = boost::asio;

constexpr int kMaxAttempts = 10;  // redirections, and TRYAGAIN / CLUSTERDOWN 100 ms apart
constexpr auto kRefreshEvery = std::chrono::seconds(5);
constexpr auto kRetryAfter = std::chrono::milliseconds(100);

void post_error(asio::io_context& loop, Connection::ReplyHandler done, std::string error) {
  asio::post(loop, [done = std::move(done), error = std::move(error)] {
    if (done) done(Reply::error(error));
  });
}

// Runs `f` with the object behind `weak` while it exists.
template <class T, class F>
auto while_alive(std::weak_ptr<Connection> weak, F f) {
  return [weak = std::move(weak), f = std::move(f)](auto&&... args) mutable {
    auto alive = weak.lock();
    if (alive) f(static_cast<T*>(alive.get()), std::forward<decltype(args)>(args)...);
  };
}

}  // namespace

// One command on its way: where it goes may change with redirections.
struct ClusterCommands::Call {
  std::vector<std::string> args;
  ReplyHandler done;
  int attempts = 0;
  std::string ask;  // an ASK redirection's node, for the next attempt only
};

ClusterCommands::ClusterCommands(asio::io_context& loop, std::vector<std::string> seeds, Endpoint credentials,
                                 Options options)
    : loop_(loop),
      seeds_(std::move(seeds)),
      nodes_(loop, std::move(credentials), std::move(options), [this] { update_state(); }),
      refresh_timer_(loop) {}

ClusterCommands::~ClusterCommands() { nodes_.stop(); }

void ClusterCommands::start() {
  if (started_) return;
  started_ = true;
  for (const auto& seed : seeds_) nodes_.node(seed);
  nodes_.start();
  keep_refreshing();
}

void ClusterCommands::stop() {
  started_ = false;
  refresh_timer_.cancel();
  nodes_.stop();
  state_ = State::Stopped;
  last_error_ = "stopped";
  if (state_handler_) state_handler_(State::Stopped, "");
}

std::string ClusterCommands::server() const {
  std::string text = "cluster:";
  const auto& masters = slots_.known() ? slots_.masters() : seeds_;
  for (const auto& master : masters) text += (text.back() == ':' ? "" : ",") + master;
  return text;
}

uint64_t ClusterCommands::reconnects() const {
  uint64_t total = 0;
  for (const auto& [address, node] : nodes_.all()) total += node->reconnects();
  return total;
}

void ClusterCommands::reconnect(std::string reason) {
  for (const auto& [address, node] : nodes_.all()) node->reconnect(reason);
}

void ClusterCommands::update_state() {
  if (!started_) return;
  std::string error;
  State state = nodes_.state_of(slots_.known() ? slots_.masters() : seeds_, error);
  if (!slots_.known() && state != State::Disconnected) {
    state = State::Connecting;  // no slot map yet: ask for one as soon as a node answers
    refresh();
  }
  // A lost node: its slots may have gone to another master.
  if (state == State::Disconnected) refresh();
  if (state == state_) return;
  state_ = state;
  if (state == State::Disconnected) last_error_ = error;
  if (state == State::Connected) last_error_.clear();
  if (state_handler_) state_handler_(state_, last_error_);
}

// ---- the slot map ----

void ClusterCommands::keep_refreshing() {
  refresh();
  refresh_timer_.expires_after(kRefreshEvery);
  refresh_timer_.async_wait(
      while_alive<ClusterCommands>(weak_from_this(), [](ClusterCommands* self, boost::system::error_code ec) {
        if (!ec && self->started_) self->keep_refreshing();
      }));
}

void ClusterCommands::refresh() {
  if (refreshing_ || !started_) return;
  // Ask a node that answers: a master if one is connected, else a seed.
  Connection* asked = nullptr;
  for (const auto& [address, node] : nodes_.all())
    if (node->state() == State::Connected && (asked == nullptr || slots_.owner(0) == address)) asked = node.get();
  if (asked == nullptr) return;
  refreshing_ = true;
  asked->command({"CLUSTER", "SLOTS"},
                 while_alive<ClusterCommands>(weak_from_this(), [](ClusterCommands* self, const Reply& reply) {
                   self->refreshing_ = false;
                   std::string error;
                   std::vector<std::string> before = self->slots_.masters();
                   SlotMap next = self->slots_;
                   if (!next.apply(reply, error)) {
                     spdlog::warn("redis cluster: cannot load the slot map: {}", error);
                     return;
                   }
                   self->slots_ = std::move(next);
                   if (before != self->slots_.masters())
                     spdlog::info("redis cluster: {} masters: {}", self->slots_.masters().size(), self->server());
                   for (const auto& master : self->slots_.masters()) self->nodes_.node(master);
                   std::vector<std::string> keep = self->slots_.masters();
                   keep.insert(keep.end(), self->seeds_.begin(), self->seeds_.end());
                   self->nodes_.retain(keep);
                   for (const auto& handler : self->topology_handlers_) handler();
                   self->update_state();
                 }));
}

// ---- commands ----

void ClusterCommands::command(std::vector<std::string> args, ReplyHandler done) {
  route(std::make_shared<Call>(Call{std::move(args), std::move(done), 0, {}}));
}

void ClusterCommands::route(const std::shared_ptr<Call>& call) {
  if (!started_) return post_error(loop_, std::move(call->done), "redis not connected: stopped");
  if (!slots_.known())
    return post_error(loop_, std::move(call->done),
                      "redis not connected: no slot map yet" + (last_error_.empty() ? "" : " (" + last_error_ + ")"));
  std::string error;
  auto key = routing_key(call->args, error);
  if (!error.empty()) return post_error(loop_, std::move(call->done), error);
  std::string address = !call->ask.empty() ? std::exchange(call->ask, {})
                        : key              ? slots_.owner(key_slot(*key))
                                           : slots_.masters().front();
  Connection& node = nodes_.node(address);
  auto on_reply = while_alive<ClusterCommands>(
      weak_from_this(), [call](ClusterCommands* self, const Reply& reply) { self->answered(call, reply); });
  node.command(call->args, std::move(on_reply));
}

void ClusterCommands::answered(const std::shared_ptr<Call>& call, const Reply& reply) {
  if (reply.is_error() && ++call->attempts < kMaxAttempts) {
    if (auto redirect = parse_redirect(reply.str)) {
      ++redirects_;
      if (redirect->ask) {
        // ASKING and the command go out together on the node that imports the slot.
        nodes_.node(redirect->address).command({"ASKING"}, nullptr);
        call->ask = redirect->address;
      } else {
        slots_.move(redirect->slot, redirect->address);
        refresh();
      }
      return route(call);
    }
    if (reply.str.starts_with("TRYAGAIN") || reply.str.starts_with("CLUSTERDOWN")) return retry_later(call);
  }
  if (reply.is_error() && reply.str.starts_with("redis not connected")) refresh();
  if (call->done) call->done(reply);
}

void ClusterCommands::retry_later(const std::shared_ptr<Call>& call) {
  auto timer = std::make_shared<asio::steady_timer>(loop_, kRetryAfter);
  timer->async_wait(while_alive<ClusterCommands>(
      weak_from_this(), [call, timer](ClusterCommands* self, boost::system::error_code) { self->route(call); }));
}

void ClusterCommands::command_each_master(std::vector<std::string> args,
                                          std::function<void(const std::vector<Reply>& replies)> done) {
  const std::vector<std::string>& masters = slots_.known() ? slots_.masters() : std::vector<std::string>{};
  if (masters.empty()) {
    asio::post(loop_, [done = std::move(done)] { done({Reply::error("redis not connected: no slot map yet")}); });
    return;
  }
  struct Gathered {
    std::vector<Reply> replies;
    size_t left;
    std::function<void(const std::vector<Reply>&)> done;
  };
  auto gathered = std::make_shared<Gathered>(Gathered{{}, masters.size(), std::move(done)});
  for (const auto& master : masters) {
    nodes_.node(master).command(args, [gathered](const Reply& reply) {
      gathered->replies.push_back(reply);
      if (--gathered->left == 0) gathered->done(gathered->replies);
    });
  }
}

// ---- ClusterSubscriptions ----

ClusterSubscriptions::ClusterSubscriptions(asio::io_context& loop, std::shared_ptr<ClusterCommands> commands,
                                           Endpoint credentials, Options options)
    : commands_(std::move(commands)),
      nodes_(loop, std::move(credentials), std::move(options), [this] { update_state(); }) {}

ClusterSubscriptions::~ClusterSubscriptions() { nodes_.stop(); }

void ClusterSubscriptions::start() {
  if (started_) return;
  started_ = true;
  commands_->on_topology(
      while_alive<ClusterSubscriptions>(weak_from_this(), [](ClusterSubscriptions* self) { self->place_all(); }));
  nodes_.start();
  place_all();
}

void ClusterSubscriptions::stop() {
  started_ = false;
  nodes_.stop();
  state_ = State::Stopped;
  if (state_handler_) state_handler_(State::Stopped, "");
}

void ClusterSubscriptions::command(std::vector<std::string>, ReplyHandler done) {
  if (done) done(Reply::error("redis: the subscriber connection takes no commands"));
}

void ClusterSubscriptions::command_each_master(std::vector<std::string>,
                                               std::function<void(const std::vector<Reply>& replies)> done) {
  done({Reply::error("redis: the subscriber connection takes no commands")});
}

uint64_t ClusterSubscriptions::reconnects() const {
  uint64_t total = 0;
  for (const auto& [address, node] : nodes_.all()) total += node->reconnects();
  return total;
}

void ClusterSubscriptions::reconnect(std::string reason) {
  for (const auto& [address, node] : nodes_.all()) node->reconnect(reason);
}

void ClusterSubscriptions::subscribe(const std::string& channel) {
  if (channels_.insert(channel).second && !classic_home_.empty()) nodes_.node(classic_home_).subscribe(channel);
}

void ClusterSubscriptions::psubscribe(const std::string& pattern) {
  if (patterns_.insert(pattern).second && !classic_home_.empty()) nodes_.node(classic_home_).psubscribe(pattern);
}

void ClusterSubscriptions::unsubscribe(const std::string& channel) {
  if (channels_.erase(channel) > 0 && !classic_home_.empty()) nodes_.node(classic_home_).unsubscribe(channel);
}

void ClusterSubscriptions::ssubscribe(const std::string& channel) {
  auto [entry, added] = shard_channels_.try_emplace(channel);
  if (added) place(channel, entry->second);
}

void ClusterSubscriptions::sunsubscribe(const std::string& channel) {
  auto found = shard_channels_.find(channel);
  if (found == shard_channels_.end()) return;
  if (Connection* node = nodes_.find(found->second)) node->sunsubscribe(channel);
  shard_channels_.erase(found);
}

void ClusterSubscriptions::place(const std::string& channel, std::string& where) {
  const SlotMap& slots = commands_->slots();
  if (!slots.known()) return;
  const std::string& owner = slots.owner(key_slot(channel));
  if (owner == where) return;
  if (Connection* old = nodes_.find(where)) old->sunsubscribe(channel);
  where = owner;
  nodes_.node(owner).ssubscribe(channel);
}

void ClusterSubscriptions::place_all() {
  const SlotMap& slots = commands_->slots();
  if (!slots.known() || !started_) return;
  for (const auto& master : slots.masters()) nodes_.node(master);
  for (auto& [channel, where] : shard_channels_) place(channel, where);
  // Classic subscriptions stay on their master while it is one (a second home would deliver each
  // message twice); when it is gone, its connection is retired below and they move.
  const auto& masters = slots.masters();
  if (std::find(masters.begin(), masters.end(), classic_home_) == masters.end()) {
    classic_home_ = masters.front();
    Connection& home = nodes_.node(classic_home_);
    for (const auto& channel : channels_) home.subscribe(channel);
    for (const auto& pattern : patterns_) home.psubscribe(pattern);
  }
  nodes_.retain(slots.masters());
  update_state();
}

void ClusterSubscriptions::update_state() {
  if (!started_) return;
  std::string error;
  const SlotMap& slots = commands_->slots();
  State state = slots.known() ? nodes_.state_of(slots.masters(), error) : State::Connecting;
  if (state == state_) return;
  state_ = state;
  last_error_ = state == State::Disconnected ? error : "";
  if (state_handler_) state_handler_(state_, last_error_);
}

}  // namespace herald::redis
