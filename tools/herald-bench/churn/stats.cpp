// Churn counters and per-client outcomes: adding up and passing them between processes as JSON.
#include "churn/stats.hpp"

namespace herald::bench {
namespace {

template <size_t N>
nlohmann::json kinds_json(const std::array<uint64_t, N>& counts) {
  auto json = nlohmann::json::object();
  for (size_t i = 0; i < N; ++i)
    if (counts[i]) json[std::string(error_kind_name(i))] = counts[i];
  return json;
}

template <size_t N>
void kinds_from_json(const nlohmann::json& json, std::array<uint64_t, N>& counts) {
  for (size_t i = 0; i < N; ++i) counts[i] = json.value(std::string(error_kind_name(i)), uint64_t{0});
}

nlohmann::json client_json(const ClientOutcome& client) {
  return {{"uid", client.uid}, {"distinct", client.distinct}, {"worst_latency_us", client.worst_latency_us}};
}

ClientOutcome client_from_json(const nlohmann::json& json) {
  return {json.at("uid").get<std::string>(), json.at("distinct").get<uint64_t>(),
          json.at("worst_latency_us").get<int64_t>()};
}

}  // namespace

uint64_t ChurnCounters::lost_total() const {
  uint64_t total = 0;
  for (auto count : lost) total += count;
  return total;
}

uint64_t ChurnCounters::failed_attempts_total() const {
  uint64_t total = 0;
  for (auto count : failed_attempts) total += count;
  return total;
}

void ChurnCounters::add(const ChurnCounters& o) {
  clients += o.clients;
  connected += o.connected;
  offline += o.offline;
  ever_connected += o.ever_connected;
  drops += o.drops;
  reconnects += o.reconnects;
  recovered += o.recovered;
  deliveries += o.deliveries;
  distinct += o.distinct;
  duplicates += o.duplicates;
  foreign += o.foreign;
  acks += o.acks;
  for (size_t i = 0; i < kErrorKinds; ++i) {
    lost[i] += o.lost[i];
    failed_attempts[i] += o.failed_attempts[i];
  }
}

nlohmann::json ChurnCounters::to_json() const {
  return {{"clients", clients},       {"connected", connected},
          {"offline", offline},       {"ever_connected", ever_connected},
          {"drops", drops},           {"reconnects", reconnects},
          {"recovered", recovered},   {"deliveries", deliveries},
          {"distinct", distinct},     {"duplicates", duplicates},
          {"foreign", foreign},       {"acks", acks},
          {"lost", kinds_json(lost)}, {"failed_attempts", kinds_json(failed_attempts)}};
}

ChurnCounters ChurnCounters::from_json(const nlohmann::json& json) {
  ChurnCounters c;
  c.clients = json.at("clients").get<uint64_t>();
  c.connected = json.at("connected").get<uint64_t>();
  c.offline = json.at("offline").get<uint64_t>();
  c.ever_connected = json.at("ever_connected").get<uint64_t>();
  c.drops = json.at("drops").get<uint64_t>();
  c.reconnects = json.at("reconnects").get<uint64_t>();
  c.recovered = json.at("recovered").get<uint64_t>();
  c.deliveries = json.at("deliveries").get<uint64_t>();
  c.distinct = json.at("distinct").get<uint64_t>();
  c.duplicates = json.at("duplicates").get<uint64_t>();
  c.foreign = json.at("foreign").get<uint64_t>();
  c.acks = json.at("acks").get<uint64_t>();
  kinds_from_json(json.at("lost"), c.lost);
  kinds_from_json(json.at("failed_attempts"), c.failed_attempts);
  return c;
}

void ChurnOutcome::add_client(const ClientOutcome& client) {
  if (clients == 0 || client.distinct < fewest.distinct) fewest = client;
  if (client.worst_latency_us >= 0) {
    worst_latency.record(client.worst_latency_us);
    if (client.worst_latency_us > slowest.worst_latency_us) slowest = client;
  }
  ++clients;
}

void ChurnOutcome::add_missed(const std::string& uid, uint64_t sequence) {
  if (missed.size() < kMissedShown) missed.emplace_back(uid, sequence);
}

void ChurnOutcome::merge(const ChurnOutcome& other) {
  for (const auto& [uid, sequence] : other.missed) add_missed(uid, sequence);
  if (other.clients == 0) return;
  latency.merge(other.latency);
  worst_latency.merge(other.worst_latency);
  if (clients == 0 || other.fewest.distinct < fewest.distinct) fewest = other.fewest;
  if (other.slowest.worst_latency_us > slowest.worst_latency_us) slowest = other.slowest;
  clients += other.clients;
}

nlohmann::json ChurnOutcome::to_json() const {
  return {{"latency", latency.to_json()},
          {"worst_latency", worst_latency.to_json()},
          {"fewest", client_json(fewest)},
          {"slowest", client_json(slowest)},
          {"clients", clients},
          {"missed", missed}};
}

ChurnOutcome ChurnOutcome::from_json(const nlohmann::json& json) {
  ChurnOutcome o;
  o.latency = LatencyHistogram::from_json(json.at("latency"));
  o.worst_latency = LatencyHistogram::from_json(json.at("worst_latency"));
  o.fewest = client_from_json(json.at("fewest"));
  o.slowest = client_from_json(json.at("slowest"));
  o.clients = json.at("clients").get<uint64_t>();
  if (auto found = json.find("missed"); found != json.end() && found->is_array())
    o.missed = found->get<std::vector<std::pair<std::string, uint64_t>>>();
  return o;
}

}  // namespace herald::bench
