// socket.io-client's connection state recovery bookkeeping (pid, offset, CONNECT auth).
#include "churn/recovery_state.hpp"

namespace herald::bench {

std::string RecoveryState::connect_packet(std::string_view nsp, const nlohmann::ordered_json& own_auth) const {
  std::string packet = "0";
  if (nsp != "/") {
    packet += nsp;
    packet += ',';
  }
  nlohmann::ordered_json auth = own_auth;
  if (pid_) {
    // Object.assign({pid, offset}, auth): pid and offset come first; JSON.stringify drops an
    // undefined offset.
    auth = nlohmann::ordered_json::object();
    auth["pid"] = *pid_;
    if (offset_) auth["offset"] = *offset_;
    if (own_auth.is_object())
      for (const auto& [key, value] : own_auth.items()) auth[key] = value;
  }
  if (!auth.is_null()) packet += auth.dump();
  return packet;
}

bool RecoveryState::on_connect_answer(const nlohmann::json& data) {
  std::optional<std::string> pid;
  if (auto found = data.find("pid"); found != data.end() && found->is_string()) pid = found->get<std::string>();
  bool recovered = pid && pid == pid_;
  pid_ = std::move(pid);
  return recovered;
}

void RecoveryState::on_event(const nlohmann::json& args, bool has_ack_id) {
  if (!pid_ || has_ack_id || !args.is_array() || args.empty() || !args.back().is_string()) return;
  offset_ = args.back().get<std::string>();
}

}  // namespace herald::bench
