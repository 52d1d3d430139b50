#include "connect/client.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/net.hpp"
#include "socketio/packet.hpp"

namespace herald::bench {
namespace {

// Reconnection backoff, as socket.io-client does by default: 1 s doubling to 5 s, +-50% jitter.
constexpr std::chrono::milliseconds kFirstRetryDelay{1000};
constexpr std::chrono::milliseconds kMaxRetryDelay{5000};

}  // namespace

Client::Client(ClientContext& context, uint64_t index)
    : context_(context),
      index_(index),
      uid_(context.uid_prefix + std::to_string(index)),
      local_address_(context.local_addresses.empty() ? asio::ip::address()
                                                     : context.local_addresses[index % context.local_addresses.size()]),
      timer_(context.io) {}

void Client::start() {
  ++context_.stats.counters.created;
  first_start_ = SteadyClock::now();
  connect();
}

void Client::connect() {
  ++generation_;
  state_ = State::Connecting;
  engine_sid_.clear();
  arm_deadline(kConnectTimeout);
  open_transport();
}

void Client::arm_deadline(std::chrono::milliseconds after) {
  timer_.expires_after(after);
  timer_.async_wait([this, generation = generation_](const boost::system::error_code& ec) {
    if (ec || !is_current(generation)) return;
    on_failure(state_ == State::Connected ? ErrorKind::PingTimeout : ErrorKind::Timeout);
  });
}

void Client::leave() {
  if (state_ == State::Connected) send_packet("41" + context_.nsp_prefix());
  state_ = State::Idle;  // on_failure ignores an idle client
  timer_.cancel();
}

void Client::on_failure(ErrorKind kind) {
  if (state_ == State::Waiting || state_ == State::Idle) return;
  auto& stats = context_.stats;
  ++stats.counters.errors[static_cast<size_t>(kind)];
  if (state_ == State::Connected) {
    --stats.counters.connected;
    ++stats.counters.disconnected;
  } else if (!ever_connected_ && failed_attempts_ == 0) {
    ++stats.initial_failures;
  }
  ++failed_attempts_;
  ++generation_;
  state_ = State::Waiting;
  close_transport();
  schedule_reconnect();
}

void Client::schedule_reconnect() {
  unsigned doublings = std::min(failed_attempts_ - 1, 3u);
  auto base = std::min(kFirstRetryDelay * (1u << doublings), kMaxRetryDelay);
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  timer_.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(base * jitter(context_.random)));
  timer_.async_wait([this, generation = generation_](const boost::system::error_code& ec) {
    if (!ec && is_current(generation)) connect();
  });
}

void Client::on_packet(std::string_view packet) {
  if (packet.empty()) return on_failure(ErrorKind::Protocol);
  switch (packet[0]) {
    case '0':
      return on_open(packet.substr(1));
    case '1':
      return on_failure(ErrorKind::Closed);
    case '2':
      send_packet("3");
      if (state_ == State::Connected || state_ == State::Opening) arm_deadline(ping_deadline_);
      return;
    case '4':
      return on_socketio(packet.substr(1));
    case '3':
    case '6':
      return;
    default:
      return on_failure(ErrorKind::Protocol);
  }
}

void Client::on_open(std::string_view json) {
  auto open = nlohmann::json::parse(json, nullptr, false);
  if (state_ != State::Connecting || !open.is_object() || !open.contains("sid") || !open["sid"].is_string())
    return on_failure(ErrorKind::Handshake);
  engine_sid_ = open["sid"].get<std::string>();
  ping_deadline_ = std::chrono::milliseconds(open.value("pingInterval", 25000) + open.value("pingTimeout", 20000));
  state_ = State::Opening;
  send_packet("40" + context_.nsp_prefix());
}

void Client::on_socketio(std::string_view packet) {
  if (state_ == State::Connected) {
    if (auto event = scan_message_event(packet, context_.nsp)) return on_message(*event);
  }
  on_decoded(packet);
}

// Everything but the hot `message` event goes through the full Socket.IO decoder.
void Client::on_decoded(std::string_view text) {
  socketio::Decoder decoder;
  auto status = decoder.add_text(text);
  if (status == socketio::Decoder::Status::Error) return on_failure(ErrorKind::Protocol);
  if (status == socketio::Decoder::Status::NeedAttachment) return;  // binary events are not ours to count
  socketio::Packet packet = decoder.take();
  if (packet.nsp != context_.nsp) return;
  switch (packet.type) {
    case socketio::PacketType::Connect:
      if (state_ == State::Opening) on_connected();
      return;
    case socketio::PacketType::ConnectError:
    case socketio::PacketType::Disconnect:
      return on_failure(ErrorKind::Rejected);
    case socketio::PacketType::Event: {
      // A `message` the fast scanner did not recognize (unusual spacing or escapes).
      const auto& args = packet.data;
      if (state_ != State::Connected || args.size() < 2 || args[0] != "message") return;
      std::string msg_id = args[1].dump();
      MessageEvent event{};
      std::string ack_id = packet.id ? std::to_string(*packet.id) : std::string();
      event.ack_id = ack_id;
      event.msg_id = msg_id;
      if (args.size() > 2 && args[2].is_object() && args[2].contains("t") && args[2]["t"].is_number())
        event.push_time_us = args[2]["t"].get<int64_t>();
      return on_message(event);
    }
    default:
      return;
  }
}

void Client::on_connected() {
  state_ = State::Connected;
  failed_attempts_ = 0;
  auto& stats = context_.stats;
  ++stats.counters.connected;
  if (ever_connected_) {
    ++stats.counters.reconnected;
  } else {
    ever_connected_ = true;
    auto latency = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - first_start_);
    stats.record_first_connect(latency.count(), epoch_us());
  }
  arm_deadline(ping_deadline_);
  send_packet("42" + context_.nsp_prefix() + nlohmann::json::array({"login", uid_}).dump());
}

void Client::on_message(const MessageEvent& event) {
  context_.stats.record_message(event.msg_id, event.push_time_us, context_.received_us, last_message_);
  if (event.ack_id.empty()) return;
  std::string& ack = context_.scratch;
  ack.assign("43");
  if (context_.nsp != "/") {
    ack += context_.nsp;
    ack += ',';
  }
  ack += event.ack_id;
  ack += '[';
  ack += event.msg_id;
  ack += ']';
  send_packet(ack);
  ++context_.stats.counters.acks;
}

}  // namespace herald::bench
