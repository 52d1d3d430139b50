#include "admin/admin_ui.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "engineio/sid.hpp"
#include "metrics/metrics.hpp"
#include "net/loop_pool.hpp"
#include "net/transport_counters.hpp"

namespace herald::admin {

using socketio::Socket;

namespace {

constexpr int kMaxPendingChecks = 16;  // bcrypt checks waiting; more logins are refused at once
constexpr size_t kMaxSessions = 1000;  // login sessions kept (the oldest go first)

Json invalid_credentials() { return Json{{"message", "invalid credentials"}}; }

std::string random_session_id() {
  // 8 random bytes in hex, as the package's randomId().
  std::string id;
  for (int i = 0; i < 2; ++i) id += fmt::format("{:08x}", engineio::random_u32());
  return id;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// Counts by reason: a handful of reasons, so a list.
void add_count(std::vector<std::pair<std::string, uint64_t>>& counts, std::string_view reason, uint64_t count) {
  auto found =
      std::find_if(counts.begin(), counts.end(), [reason](const auto& entry) { return entry.first == reason; });
  if (found == counts.end())
    counts.emplace_back(std::string(reason), count);
  else
    found->second += count;
}

const std::string* string_arg(const Json& args, size_t index) {
  return index < args.size() && args[index].is_string() ? args[index].get_ptr<const std::string*>() : nullptr;
}

}  // namespace

AdminUi::AdminUi(socketio::Server& io, Options options)
    : io_(io),
      options_(std::move(options)),
      nsp_(io.of(options_.nsp)),
      loops_(io.pool().size()),
      started_ms_(now_ms()),
      hostname_(host_name()) {
  // Its broadcasts are notices of the moment: nothing to replay to a UI that reconnects.
  nsp_.without_recovery();
  namespaces_ = io_.namespaces();
  if (options_.server_id.empty()) options_.server_id = hostname_;
  if (options_.credentials.required()) {
    nsp_.use_async([this](Socket& socket, std::function<void(std::optional<Json>)> next) {
      authenticate(socket, std::move(next));
    });
  } else {
    spdlog::warn("admin UI: no admin_user is set, so anyone who reaches {} can watch and command every socket",
                 options_.nsp);
  }
  nsp_.on_connection([this](const std::shared_ptr<Socket>& socket) { on_admin_connected(socket); });
  if (!options_.read_only) register_commands();
  io_.set_observer(this);
}

AdminUi::~AdminUi() {
  stop();
  checker_.join();
  // Sessions closed after this (the server's own teardown) tell no one.
  io_.set_observer(nullptr);
}

std::vector<std::string> AdminUi::features() const {
  std::vector<std::string> features;
  if (!options_.read_only) features = {"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"};
  features.push_back("AGGREGATED_EVENTS");
  if (options_.development) features.push_back("ALL_EVENTS");
  return features;
}

// ---- login ----

void AdminUi::authenticate(Socket& socket, std::function<void(std::optional<Json>)> next) {
  const Json& auth = socket.auth();
  auto text = [&auth](const char* field) {
    auto found = auth.is_object() ? auth.find(field) : auth.end();
    return auth.is_object() && found != auth.end() && found->is_string() ? found->get<std::string>() : std::string();
  };
  if (std::string session = text("sessionId"); !session.empty()) {
    std::lock_guard lock(sessions_mutex_);
    if (sessions_.contains(session)) return next(std::nullopt);
  }
  std::string user = text("username");
  std::string password = text("password");
  auto refuse = [&socket, &next] {
    metrics::global().admin_logins_refused.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("admin UI: invalid credentials from {}", socket.handshake().address);
    next(invalid_credentials());
  };
  if (user.empty() && password.empty()) return refuse();
  if (!options_.credentials.hashed()) {
    if (!options_.credentials.verify(user, password)) return refuse();
    return accept_login(socket, next);
  }
  // bcrypt takes tens of milliseconds: off the loop, then back on the socket's loop.
  if (pending_checks_.fetch_add(1) >= kMaxPendingChecks) {
    pending_checks_.fetch_sub(1);
    return refuse();
  }
  size_t loop = socket.loop();
  auto held = socket.shared_from_this();
  boost::asio::post(checker_, [this, loop, held, user = std::move(user), password = std::move(password),
                               next = std::move(next)]() mutable {
    bool ok = options_.credentials.verify(user, password);
    pending_checks_.fetch_sub(1);
    io_.pool().post(loop, [this, ok, held, next = std::move(next)] {
      if (!ok) {
        metrics::global().admin_logins_refused.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("admin UI: invalid credentials from {}", held->handshake().address);
        return next(invalid_credentials());
      }
      accept_login(*held, next);
    });
  });
}

void AdminUi::accept_login(Socket& socket, const std::function<void(std::optional<Json>)>& next) {
  metrics::global().admin_logins.fetch_add(1, std::memory_order_relaxed);
  std::string id = random_session_id();
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.insert(id);
    session_order_.push_back(id);
    if (session_order_.size() > kMaxSessions) {
      sessions_.erase(session_order_.front());
      session_order_.pop_front();
    }
  }
  // As the package: sent before the CONNECT answer; the client hands it over once connected.
  socket.emit("session", Json::array({std::move(id)}));
  next(std::nullopt);
}

// ---- the UI's connection ----

void AdminUi::on_admin_connected(const std::shared_ptr<Socket>& socket) {
  Json features = Json::array();
  for (const auto& feature : this->features()) features.push_back(feature);
  socket->emit("config", Json::array({Json{{"supportedFeatures", std::move(features)}}}));
  if (options_.development) send_all_sockets(socket);
}

void AdminUi::send_all_sockets(const std::shared_ptr<Socket>& admin) {
  struct Gathering {
    Json sockets = Json::array();
    size_t pending = 0;
    std::weak_ptr<Socket> admin;
    void add(Json& part) {
      for (auto& socket : part) sockets.push_back(std::move(socket));
      if (--pending > 0) return;
      if (auto to = admin.lock(); to && to->connected()) to->emit("all_sockets", Json::array({std::move(sockets)}));
    }
  };
  auto gathering = std::make_shared<Gathering>();
  gathering->admin = admin;
  for (auto* nsp : namespaces_) gathering->pending += nsp->cluster_side().adapter() ? 2 : 1;
  size_t origin = admin->loop();
  for (auto* nsp : namespaces_) {
    nsp->sockets().collect<Json>(
        socketio::Target{},
        [this](const std::vector<Socket*>& sockets) {
          Json part = Json::array();
          for (Socket* socket : sockets) part.push_back(serialize_local(*socket));
          return part;
        },
        [gathering](std::vector<Json>& parts) {
          Json all = Json::array();
          for (auto& part : parts)
            for (auto& socket : part) all.push_back(std::move(socket));
          gathering->add(all);
        });
    if (!nsp->cluster_side().adapter()) continue;
    nsp->cluster_side().adapter()->fetch_sockets(
        socketio::Target{}, [nsp, origin, gathering](std::vector<socketio::SocketInfo>& remote, bool /*complete*/) {
          Json part = Json::array();
          for (auto& socket : remote) part.push_back(serialize(socket, nsp->name()));
          nsp->sockets().post_to_loop(origin, [gathering, part = std::move(part)]() mutable { gathering->add(part); });
        });
  }
}

void AdminUi::register_commands() {
  auto target = [this](const Json& args, size_t nsp_index, size_t filter_index) -> std::optional<socketio::Broadcast> {
    const std::string* name = string_arg(args, nsp_index);
    socketio::Namespace* nsp = name ? io_.find(*name) : nullptr;
    if (!nsp) return std::nullopt;
    socketio::Broadcast broadcast(*nsp);
    if (const std::string* filter = string_arg(args, filter_index); filter && !filter->empty()) broadcast.to(*filter);
    return broadcast;
  };
  // emit(nsp, filter, event, ...args)
  nsp_.on("emit", [target](Socket&, Json& args, socketio::Ack&) {
    auto broadcast = target(args, 0, 1);
    const std::string* event = string_arg(args, 2);
    if (!broadcast || !event) return;
    Json rest = Json::array();
    for (size_t i = 3; i < args.size(); ++i) rest.push_back(std::move(args[i]));
    broadcast->emit(*event, std::move(rest));
  });
  // join(nsp, room, filter?) and leave(nsp, room, filter?)
  for (bool join : {true, false}) {
    nsp_.on(join ? "join" : "leave", [target, join](Socket&, Json& args, socketio::Ack&) {
      auto broadcast = target(args, 0, 2);
      const std::string* room = string_arg(args, 1);
      if (!broadcast || !room) return;
      join ? broadcast->sockets_join(*room) : broadcast->sockets_leave(*room);
    });
  }
  // _disconnect(nsp, close, filter?)
  nsp_.on("_disconnect", [target](Socket&, Json& args, socketio::Ack&) {
    auto broadcast = target(args, 0, 2);
    if (!broadcast) return;
    broadcast->disconnect_sockets(args.size() > 1 && args[1].is_boolean() && args[1].get<bool>());
  });
}

// ---- stats ----

void AdminUi::start() {
  stats_timer_ = std::make_unique<boost::asio::steady_timer>(io_.pool().loop(0));
  io_.pool().post(0, [this] { collect_stats(); });
  schedule_stats();
}

void AdminUi::stop() {
  if (stopped_.exchange(true)) return;
  if (stats_timer_) io_.pool().post(0, [this] { stats_timer_->cancel(); });
}

void AdminUi::schedule_stats() {
  stats_timer_->expires_after(options_.stats_interval);
  stats_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    collect_stats();
    schedule_stats();
  });
}

void AdminUi::collect_stats() {
  struct Collection {
    std::vector<LoopReport> reports;
    size_t pending;
  };
  auto collection = std::make_shared<Collection>(Collection{{}, io_.pool().size()});
  io_.pool().post_all([this, collection](size_t loop) {
    LoopReport report;
    if (socketio::LoopTraffic* traffic = io_.traffic(loop)) {
      report.traffic = *traffic;
      *traffic = socketio::LoopTraffic{};
    }
    report.disconnections.swap(loops_[loop].disconnections);
    for (auto* nsp : namespaces_) report.sockets.push_back(nsp->sockets().local_count(loop));
    io_.pool().post(0, [this, collection, report = std::move(report)]() mutable {
      collection->reports.push_back(std::move(report));
      if (--collection->pending == 0) emit_stats(collection->reports);
    });
  });
}

void AdminUi::emit_stats(std::vector<LoopReport>& reports) {
  socketio::LoopTraffic total;
  std::vector<std::pair<std::string, uint64_t>> disconnections;
  std::vector<size_t> sockets(namespaces_.size(), 0);
  for (auto& report : reports) {
    total.sessions_opened += report.traffic.sessions_opened;
    total.packets_in += report.traffic.packets_in;
    total.bytes_in += report.traffic.bytes_in;
    total.packets_out += report.traffic.packets_out;
    total.bytes_out += report.traffic.bytes_out;
    for (const auto& entry : report.disconnections) add_count(disconnections, entry.first, entry.second);
    for (size_t i = 0; i < sockets.size() && i < report.sockets.size(); ++i) sockets[i] += report.sockets[i];
  }
  // The package counts per second; these are the counts of the last interval, stamped with its
  // end's second (the UI adds them up in 10-second bars).
  int64_t second = now_ms() / 1000 * 1000;
  Json events = Json::array();
  auto add = [&events, second](const char* type, uint64_t count, const std::string* sub_type = nullptr) {
    if (count == 0) return;
    Json event{{"timestamp", second}, {"type", type}};
    if (sub_type) event["subType"] = *sub_type;
    event["count"] = count;
    events.push_back(std::move(event));
  };
  add("rawConnection", total.sessions_opened);
  for (const auto& [reason, count] : disconnections) add("rawDisconnection", count, &reason);
  add("packetsIn", total.packets_in);
  add("bytesIn", total.bytes_in);
  add("packetsOut", total.packets_out);
  add("bytesOut", total.bytes_out);
  Json namespaces = Json::array();
  for (size_t i = 0; i < namespaces_.size(); ++i)
    namespaces.push_back(Json{{"name", namespaces_[i]->name()}, {"socketsCount", sockets[i]}});
  Json stats{{"serverId", options_.server_id},
             {"hostname", hostname_},
             {"pid", static_cast<int64_t>(getpid())},
             {"uptime", static_cast<double>(now_ms() - started_ms_) / 1000.0},
             {"clientsCount", io_.engine().live_sessions()},
             {"pollingClientsCount", net::transport_counters().polling_sessions.load(std::memory_order_relaxed)},
             {"aggregatedEvents", std::move(events)},
             {"namespaces", std::move(namespaces)}};
  tell("server_stats", Json::array({std::move(stats)}));
}

// ---- what the server tells ----

void AdminUi::tell(std::string_view event, Json args) { nsp_.emit(event, std::move(args)); }

Json AdminUi::serialize_local(Socket& socket) {
  auto& connected = loops_[socket.loop()].connected_ms;
  auto found = connected.find(&socket);
  SocketContext context{found == connected.end() ? now_ms() : found->second, options_.secure, io_.config().engine.path};
  return serialize(socket, context);
}

void AdminUi::session_closed(size_t loop, socketio::DisconnectReason reason) {
  add_count(loops_[loop].disconnections, to_string(reason), 1);
}

void AdminUi::socket_connected(Socket& socket) {
  if (!options_.development) return;
  int64_t now = now_ms();
  loops_[socket.loop()].connected_ms[&socket] = now;
  tell("socket_connected", Json::array({serialize_local(socket), iso_time(now)}));
}

void AdminUi::socket_disconnected(Socket& socket, socketio::DisconnectReason reason) {
  if (!options_.development) return;
  loops_[socket.loop()].connected_ms.erase(&socket);
  tell("socket_disconnected", Json::array({socket.nsp().name(), socket.id(), to_string(reason), iso_time(now_ms())}));
}

void AdminUi::socket_upgraded(Socket& socket) {
  if (!options_.development) return;
  tell("socket_updated",
       Json::array({Json{{"id", socket.id()}, {"nsp", socket.nsp().name()}, {"transport", "websocket"}}}));
}

void AdminUi::room_joined(Socket& socket, const std::string& room) {
  if (!options_.development) return;
  tell("room_joined", Json::array({socket.nsp().name(), room, socket.id(), iso_time(now_ms())}));
}

void AdminUi::room_left(Socket& socket, const std::string& room) {
  if (!options_.development) return;
  tell("room_left", Json::array({socket.nsp().name(), room, socket.id(), iso_time(now_ms())}));
}

void AdminUi::event_received(Socket& socket, const Json& event_and_args) {
  if (!options_.development || &socket.nsp() == &nsp_) return;
  tell("event_received", Json::array({socket.nsp().name(), socket.id(), event_and_args, iso_time(now_ms())}));
}

void AdminUi::event_sent(Socket& socket, std::string_view event, const Json& args) {
  if (!options_.development || &socket.nsp() == &nsp_) return;
  Json event_and_args = Json::array({event});
  for (const auto& arg : args) event_and_args.push_back(arg);
  tell("event_sent", Json::array({socket.nsp().name(), socket.id(), std::move(event_and_args), iso_time(now_ms())}));
}

}  // namespace herald::admin
