#include "connect/stats.hpp"

namespace herald::bench {
namespace {

constexpr std::array<std::string_view, kErrorKinds> kErrorNames = {
    "refused", "connect", "timeout", "handshake", "closed", "ping_timeout", "rejected", "protocol", "io"};

// A msgId for people: JSON strings lose their quotes, other values stay as written.
std::string display_id_of(std::string_view raw) {
  if (raw.size() >= 2 && raw.front() == '"') {
    auto parsed = nlohmann::json::parse(raw, nullptr, false);
    if (parsed.is_string()) return parsed.get<std::string>();
  }
  return std::string(raw);
}

}  // namespace

std::string_view error_kind_name(ErrorKind kind) { return kErrorNames[static_cast<size_t>(kind)]; }
std::string_view error_kind_name(size_t index) { return kErrorNames[index]; }

uint64_t Counters::error_total() const {
  uint64_t total = 0;
  for (auto count : errors) total += count;
  return total;
}

void Counters::add(const Counters& other) {
  created += other.created;
  connected += other.connected;
  ever_connected += other.ever_connected;
  disconnected += other.disconnected;
  reconnected += other.reconnected;
  messages += other.messages;
  acks += other.acks;
  for (size_t i = 0; i < kErrorKinds; ++i) errors[i] += other.errors[i];
}

nlohmann::json Counters::to_json() const {
  nlohmann::json error_counts = nlohmann::json::object();
  for (size_t i = 0; i < kErrorKinds; ++i)
    if (errors[i]) error_counts[std::string(kErrorNames[i])] = errors[i];
  return {{"created", created},
          {"connected", connected},
          {"ever_connected", ever_connected},
          {"disconnected", disconnected},
          {"reconnected", reconnected},
          {"messages", messages},
          {"acks", acks},
          {"errors", std::move(error_counts)}};
}

Counters Counters::from_json(const nlohmann::json& json) {
  Counters counters;
  counters.created = json.at("created").get<uint64_t>();
  counters.connected = json.at("connected").get<uint64_t>();
  counters.ever_connected = json.at("ever_connected").get<uint64_t>();
  counters.disconnected = json.at("disconnected").get<uint64_t>();
  counters.reconnected = json.at("reconnected").get<uint64_t>();
  counters.messages = json.at("messages").get<uint64_t>();
  counters.acks = json.at("acks").get<uint64_t>();
  for (size_t i = 0; i < kErrorKinds; ++i) counters.errors[i] = json.at("errors").value(kErrorNames[i], uint64_t{0});
  return counters;
}

void WorkerStats::record_first_connect(int64_t latency_us, int64_t now_us) {
  ++counters.ever_connected;
  connect_latency.record(latency_us);
  last_first_connect_us = now_us;
}

MessageStats& WorkerStats::find_or_add(std::string_view msg_id, MessageStats* previous) {
  if (previous && previous->next && previous->next->raw_id == msg_id) return *previous->next;
  auto found = messages_.find(msg_id);
  if (found == messages_.end()) {
    found = messages_.emplace(std::string(msg_id), MessageStats{}).first;
    found->second.display_id = display_id_of(msg_id);
    found->second.raw_id = found->first;
  }
  if (previous && !previous->next && previous != &found->second) previous->next = &found->second;
  return found->second;
}

void WorkerStats::record_message(std::string_view msg_id, std::optional<int64_t> push_time_us, int64_t now_us,
                                 MessageStats*& previous) {
  ++counters.messages;
  MessageStats& stats = find_or_add(msg_id, previous);
  previous = &stats;
  if (stats.received++ == 0) {
    stats.first_receipt_us = now_us;
    stats.stamped = push_time_us.has_value();
  }
  // Unstamped messages are timed from this worker's first receipt; the parent aligns workers.
  stats.latency.record(now_us - (stats.stamped && push_time_us ? *push_time_us : stats.first_receipt_us));
  if (!stats.changed) {
    stats.changed = true;
    changed_.push_back(&stats);
  }
}

nlohmann::json WorkerStats::take_tick() {
  nlohmann::json received = nlohmann::json::object();
  for (MessageStats* stats : changed_) {
    received[stats->display_id] = stats->received;
    stats->changed = false;
  }
  changed_.clear();
  return {{"type", "tick"}, {"counters", counters.to_json()}, {"messages", std::move(received)}};
}

nlohmann::json WorkerStats::final_report() const {
  nlohmann::json messages = nlohmann::json::object();
  for (const auto& [raw, stats] : messages_) {
    messages[stats.display_id] = {{"received", stats.received},
                                  {"first_receipt_us", stats.first_receipt_us},
                                  {"stamped", stats.stamped},
                                  {"latency", stats.latency.to_json()}};
  }
  return {{"type", "final"},
          {"counters", counters.to_json()},
          {"share", share},
          {"first_start_us", first_start_us},
          {"last_first_connect_us", last_first_connect_us},
          {"initial_failures", initial_failures},
          {"connect_latency", connect_latency.to_json()},
          {"messages", std::move(messages)}};
}

}  // namespace herald::bench
