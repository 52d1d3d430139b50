#include "push/targets.hpp"

#include <algorithm>
#include <cctype>

namespace herald::bench {
namespace {

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) items.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return items;
}

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

std::optional<Targets> Targets::from_options(const PushOptions& options, std::string& error) {
  Targets targets;
  targets.random_ = options.pick == "random";
  targets.batch_size_ = options.batch_size;
  if (options.endpoint == "all") {
    targets.api_path_ = options.api_path.empty() ? "/pushMsgToAll" : options.api_path;
    return targets;
  }
  if (options.endpoint == "room") {
    targets.api_path_ = "/pushMsgToRoom";
    targets.field_ = "tags";
    targets.rooms_ = options.rooms;
    if (split(options.rooms).empty()) {
      error = "--room is required for the room endpoint";
      return std::nullopt;
    }
    return targets;
  }
  if (options.endpoint == "api-batch") {
    targets.api_path_ = "/api/v1/push/batch";
    targets.field_ = "users";
  } else {
    targets.api_path_ = options.endpoint == "single" ? "/pushMsgToSingleDevice" : "/pushBatchUniMsg";
    targets.field_ = options.endpoint == "single" ? "useraccount" : "useraccounts";
  }
  if (all_digits(options.users)) {
    uint64_t count = std::stoull(options.users);
    for (uint64_t i = 0; i < count; ++i) targets.users_.push_back(options.uid_prefix + std::to_string(i));
  } else {
    targets.users_ = split(options.users);
  }
  if (targets.users_.empty()) {
    error = "--users (a count or a list) is required for the " + options.endpoint + " endpoint";
    return std::nullopt;
  }
  if (options.endpoint == "batch") targets.batch_size_ = std::min<uint64_t>(targets.batch_size_, targets.users_.size());
  return targets;
}

const std::string& Targets::next_user() {
  if (random_) return users_[std::uniform_int_distribution<size_t>(0, users_.size() - 1)(rng_)];
  const std::string& user = users_[next_];
  next_ = (next_ + 1) % users_.size();
  return user;
}

void Targets::add_next(nlohmann::ordered_json& body) {
  if (field_.empty()) return;
  if (field_ == "tags") {
    body[field_] = rooms_;
  } else if (field_ == "useraccount") {
    body[field_] = next_user();
  } else if (field_ == "users") {
    body[field_] = nlohmann::ordered_json::array({next_user()});
  } else {
    std::string list;
    for (uint64_t i = 0; i < batch_size_; ++i) {
      if (i) list += ',';
      list += next_user();
    }
    body[field_] = std::move(list);
  }
}

}  // namespace herald::bench
