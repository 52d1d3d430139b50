#include "cluster/direct_server.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/beast/core/string.hpp>

#include "cluster/direct_link.hpp"
#include "cluster/direct_metrics.hpp"
#include "codec/json_reader.hpp"
#include "codec/raw_json.hpp"
#include "metrics/metrics.hpp"
#include "net/http_takeover.hpp"
#include "push/user_data.hpp"
#include "socketio/server.hpp"

namespace herald::cluster {

using socketio::Json;
using socketio::SocketInfo;

namespace {

constexpr const char* kUpgraded =
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: herald-direct\r\n\r\n";

// Answers one push on its link: the reach once every loop has reported it, then each ack and drop.
// Runs on the link's loop (where the push was started, so its reports come there).
class Relay : public std::enable_shared_from_this<Relay> {
 public:
  Relay(std::weak_ptr<DirectLink> link, uint64_t request, size_t loops) : link_(std::move(link)), loops_left_(loops) {
    reach_.request = request;
  }

  socketio::BroadcastAckHandlers handlers() {
    auto self = shared_from_this();
    socketio::BroadcastAckHandlers handlers;
    handlers.on_reached = [self](const std::vector<SocketInfo>& sockets) { self->reached(sockets); };
    handlers.on_ack = [self](const SocketInfo& socket, Json& args) {
      self->send(direct::Acks{
          self->reach_.request,
          {direct::Ack{{socket.id, std::string(push::user_of(socket))}, args.empty() ? "null" : args[0].dump()}}});
    };
    handlers.on_dropped = [self](const SocketInfo& socket) {
      self->send(direct::Dropped{self->reach_.request, {socket.id, std::string(push::user_of(socket))}});
    };
    return handlers;
  }

 private:
  void reached(const std::vector<SocketInfo>& sockets) {
    for (const auto& socket : sockets) reach_.sockets.push_back({socket.id, std::string(push::user_of(socket))});
    if (--loops_left_ > 0) return;
    auto link = link_.lock();
    if (!link) return;
    link->send(reach_);
    reach_.sockets.clear();
    for (const auto& frame : held_) link->send(frame);
    held_.clear();
  }

  // Acks and drops wait for the reach: the requester needs to know whom a drop leaves without a socket.
  void send(direct::Frame frame) {
    if (loops_left_ > 0) return held_.push_back(std::move(frame));
    if (auto link = link_.lock()) link->send(frame);
  }

  std::weak_ptr<DirectLink> link_;
  size_t loops_left_;
  direct::Reached reach_;
  std::vector<direct::Frame> held_;
};

// A push's data ([event, args...]) from its text: the arguments stay as the text they came in (a
// pushed message as the backend wrote it, see codec/raw_json.hpp), each validated. Discarded when
// the text is no such array.
Json push_data(std::string_view text) {
  auto whole = codec::raw_json(text);
  auto elements = whole ? codec::array_elements(codec::raw_json_text(*whole)) : std::vector<std::string_view>{};
  if (elements.empty()) return Json(Json::value_t::discarded);
  auto event = codec::read_json(elements[0]);
  Json data = Json::array({event ? std::move(*event) : Json::parse(elements[0], nullptr, false)});
  // The elements of the array validated whole are valid themselves.
  for (size_t i = 1; i < elements.size(); ++i) data.push_back(codec::raw_json_checked(elements[i]));
  return data;
}

}  // namespace

DirectServer::DirectServer(net::LoopPool& pool, socketio::Namespace& nsp, std::string token)
    : pool_(pool), nsp_(nsp), token_(std::move(token)) {}

void DirectServer::accept(const std::shared_ptr<net::HttpExchange>& exchange) {
  const auto& request = exchange->request();
  if (request.method != "GET" || !boost::beast::iequals(request.header("upgrade"), "herald-direct"))
    return exchange->respond(net::HttpResponse::text(400, "a direct link takes GET with Upgrade: herald-direct\n"));
  std::string expected = "Bearer " + token_;
  std::string_view given = request.header("authorization");
  if (!token_.empty() &&
      (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), given.size()) != 0))
    return exchange->respond(net::HttpResponse::text(401, "a direct link needs the API token\n"));
  auto taken = net::take_connection(*exchange);
  if (taken.fd < 0) return exchange->respond(net::HttpResponse::text(400, "a direct link needs plain TCP\n"));
  auto holder = std::make_shared<std::weak_ptr<DirectLink>>();
  socketio::Namespace* nsp = &nsp_;
  auto link = std::make_shared<DirectLink>(
      pool_.loop(exchange->loop()),
      [holder, nsp](direct::Frame& frame) {
        auto* push = std::get_if<direct::Push>(&frame);
        if (!push) return false;  // only pushes come this way
        direct_metrics().received.fetch_add(1, std::memory_order_relaxed);
        auto relay = std::make_shared<Relay>(*holder, push->request, nsp->sockets().loop_count());
        Json data = push_data(push->data);
        if (push->nsp != nsp->name() || data.is_discarded() || !data.is_array() || data.empty() ||
            !data[0].is_string()) {
          metrics::global().rejected_cluster_messages.fetch_add(1, std::memory_order_relaxed);
          if (auto open = holder->lock()) open->send(direct::Reached{push->request, {}});
          return true;
        }
        socketio::Packet packet{socketio::PacketType::Event, nsp->name(), nsp->server().next_ack_id(), std::move(data)};
        auto target = nsp->cluster_side().remote_target(std::move(push->users), {}, Json{{"heraldFilter", "users"}});
        socketio::Broadcast(*nsp, std::move(target))
            .local()
            .emit_packet_with_ack(std::move(packet),
                                  std::chrono::milliseconds(std::clamp<int64_t>(push->timeout_ms, 1, 600000)),
                                  relay->handlers());
        return true;
      },
      [] {});
  *holder = link;
  link->adopt(taken.fd, kUpgraded, std::move(taken.already_read));
}

}  // namespace herald::cluster

namespace herald::cluster {

DirectMetrics& direct_metrics() {
  static DirectMetrics metrics;
  return metrics;
}

std::string DirectMetrics::render() const {
  std::string out =
      "# HELP herald_direct_pushes_total Pushes to users on other Herald nodes: sent over a direct link, failed "
      "(the node could not be reached, or its link broke before it answered), taken through the adapter instead "
      "(fallback), received from other nodes\n# TYPE herald_direct_pushes_total counter\n";
  auto line = [&out](const char* event, const metrics::Counter& counter) {
    out += "herald_direct_pushes_total{event=\"";
    out += event;
    out += "\"} " + std::to_string(counter.load(std::memory_order_relaxed)) + "\n";
  };
  line("sent", sent);
  line("failed", failed);
  line("fallback", fallback);
  line("received", received);
  return out;
}

}  // namespace herald::cluster
