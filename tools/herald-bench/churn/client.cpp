// A churning client's life: connect, recover or not, log in, count and ack pushes, drop, go offline.
#include "churn/client.hpp"

#include <algorithm>

#include <fmt/core.h>

#include "common/net.hpp"
#include "connect/websocket_client.hpp"

namespace herald::bench {

ChurnClient::ChurnClient(ChurnContext& context, uint64_t index)
    : context_(context),
      index_(index),
      connection_(context.io, *this, context.random),
      deadline_(context.io),
      churn_(context.io) {}

void ChurnClient::start() {
  ++context_.counters.clients;
  connect();
}

void ChurnClient::on_churn_started() {
  if (state_ == State::Connected) schedule_drop();
}

ClientOutcome ChurnClient::outcome() const { return {uid(), received_.size(), worst_latency_us_}; }

void ChurnClient::connect() {
  ++generation_;
  state_ = State::Connecting;
  arm_deadline(kConnectTimeout);
  connection_.open(context_.server, {}, context_.host_header, context_.target);
}

void ChurnClient::arm_deadline(std::chrono::milliseconds after) {
  deadline_.expires_after(after);
  deadline_.async_wait([this, generation = generation_](const boost::system::error_code& ec) {
    if (ec || generation != generation_) return;
    lose(state_ == State::Connected ? ErrorKind::PingTimeout : ErrorKind::Timeout);
  });
}

void ChurnClient::on_ws_error(const boost::system::error_code& ec, bool connecting) {
  lose(classify_websocket_error(ec, connecting));
}

void ChurnClient::on_ws_message(std::string_view data, int64_t received_us) {
  if (data.empty()) return lose(ErrorKind::Protocol);
  switch (data[0]) {
    case '0':
      return on_open(data.substr(1));
    case '1':
      return lose(ErrorKind::Closed);
    case '2':
      send("3");
      if (state_ == State::Opening || state_ == State::Connected) arm_deadline(ping_deadline_);
      return;
    case '4':
      return on_socketio(data.substr(1), received_us);
    case '3':
    case '6':
      return;
    default:
      return lose(ErrorKind::Protocol);
  }
}

void ChurnClient::on_open(std::string_view json) {
  auto open = nlohmann::json::parse(json, nullptr, false);
  if (state_ != State::Connecting || !open.is_object() || !open.contains("sid")) return lose(ErrorKind::Handshake);
  ping_deadline_ = std::chrono::milliseconds(open.value("pingInterval", 25000) + open.value("pingTimeout", 20000));
  state_ = State::Opening;
  nlohmann::ordered_json auth;  // null: no auth of its own
  if (context_.login_in_auth) auth["uid"] = uid();
  send("4" + recovery_.connect_packet(context_.nsp, auth));
}

void ChurnClient::on_socketio(std::string_view text, int64_t received_us) {
  socketio::Decoder decoder;
  auto status = decoder.add_text(text);
  if (status == socketio::Decoder::Status::Error) return lose(ErrorKind::Protocol);
  if (status == socketio::Decoder::Status::NeedAttachment) return;  // binary events carry no push
  socketio::Packet packet = decoder.take();
  if (packet.nsp != context_.nsp) return;
  switch (packet.type) {
    case socketio::PacketType::Connect:
      if (state_ == State::Opening) on_connected(packet.data, received_us);
      return;
    case socketio::PacketType::ConnectError:
    case socketio::PacketType::Disconnect:
      return lose(ErrorKind::Rejected);
    case socketio::PacketType::Event:
      if (state_ == State::Connected) return on_event(packet, received_us);
      if (state_ == State::Opening) early_events_.push_back(std::move(packet));
      return;
    default:
      return;
  }
}

void ChurnClient::on_connected(const nlohmann::json& data, int64_t received_us) {
  if (!data.is_object() || !data.contains("sid")) return lose(ErrorKind::Protocol);
  bool recovered = recovery_.on_connect_answer(data);
  auto& counters = context_.counters;
  if (ever_connected_) {
    ++counters.reconnects;
    if (recovered) ++counters.recovered;
    --counters.offline;
  } else {
    ever_connected_ = true;
    ++counters.ever_connected;
  }
  ++counters.connected;
  state_ = State::Connected;
  arm_deadline(ping_deadline_);

  // socket.io-client handles the buffered events first, then its "connect" listeners log in.
  auto generation = generation_;
  auto early = std::move(early_events_);
  early_events_ = {};
  for (const auto& packet : early) {
    on_event(packet, received_us);
    if (generation != generation_) return;
  }
  if (!context_.login_in_auth) send("42" + context_.nsp_prefix() + nlohmann::json::array({"login", uid()}).dump());
  if (context_.churning) schedule_drop();
}

void ChurnClient::on_event(const socketio::Packet& packet, int64_t received_us) {
  const auto& args = packet.data;
  if (args.is_array() && args.size() >= 2 && args[0] == "message") record_message(args, received_us);
  if (packet.id) {
    // The ack says "received": nothing more is answered.
    send(fmt::format("43{}{}[]", context_.nsp_prefix(), *packet.id));
    ++context_.counters.acks;
  }
  recovery_.on_event(args, packet.id.has_value());
}

void ChurnClient::record_message(const nlohmann::json& args, int64_t received_us) {
  auto& counters = context_.counters;
  std::optional<uint64_t> sequence;
  if (args[1].is_string()) sequence = push_sequence(args[1].get_ref<const std::string&>(), context_.msg_id_prefix);
  if (!sequence || *sequence >= ReceivedSet::kMaxPushes) {
    ++counters.foreign;
    return;
  }
  ++counters.deliveries;
  if (!received_.insert(*sequence)) {
    ++counters.duplicates;
    return;
  }
  ++counters.distinct;
  if (args.size() < 3 || !args[2].is_object()) return;
  auto stamp = args[2].find("t");
  if (stamp == args[2].end() || !stamp->is_number()) return;
  int64_t latency_us = std::max<int64_t>(0, received_us - stamp->get<int64_t>());
  context_.latency.record(latency_us);
  worst_latency_us_ = std::max(worst_latency_us_, latency_us);
}

void ChurnClient::schedule_drop() {
  int64_t every = context_.drop_every.count();
  int64_t jitter = std::min(context_.drop_jitter.count(), every - 1);
  std::uniform_int_distribution<int64_t> spell(every - jitter, every + jitter);
  churn_.expires_after(std::chrono::milliseconds(spell(context_.random)));
  churn_.async_wait([this, generation = generation_](const boost::system::error_code& ec) {
    if (ec || generation != generation_ || state_ != State::Connected || !context_.churning) return;
    drop();
  });
}

// Like a WiFi drop: a TCP reset, no WebSocket or Socket.IO goodbye.
void ChurnClient::drop() {
  auto& counters = context_.counters;
  ++counters.drops;
  --counters.connected;
  ++counters.offline;
  connection_.abort();
  go_offline();
}

void ChurnClient::lose(ErrorKind kind) {
  if (state_ == State::Offline || state_ == State::Idle) return;
  auto& counters = context_.counters;
  auto why = static_cast<size_t>(kind);
  if (state_ == State::Connected) {
    ++counters.lost[why];
    --counters.connected;
    ++counters.offline;
  } else {
    ++counters.failed_attempts[why];
  }
  connection_.close();
  go_offline();
}

void ChurnClient::go_offline() {
  ++generation_;
  state_ = State::Offline;
  deadline_.cancel();
  churn_.expires_after(context_.offline);
  churn_.async_wait([this, generation = generation_](const boost::system::error_code& ec) {
    if (!ec && generation == generation_) connect();
  });
}

}  // namespace herald::bench
