// Who each push is addressed to: the endpoint's path and its target field, with users picked
// round robin or at random.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "push/options.hpp"

namespace herald::bench {

class Targets {
 public:
  // nullopt and `error` when the endpoint lacks what it needs (rooms, users).
  static std::optional<Targets> from_options(const PushOptions& options, std::string& error);

  const std::string& api_path() const { return api_path_; }
  // Adds the endpoint's target field (tags, useraccount, useraccounts) for the next push.
  void add_next(nlohmann::ordered_json& body);
  // api-batch: each request holds batch_size() pushes of one user each (`users`).
  bool api_batch() const { return field_ == "users"; }
  uint64_t batch_size() const { return batch_size_; }

 private:
  const std::string& next_user();

  std::string api_path_;
  std::string field_;  // empty for all
  std::string rooms_;
  std::vector<std::string> users_;
  uint64_t batch_size_ = 1;
  bool random_ = false;
  size_t next_ = 0;
  std::minstd_rand rng_{std::random_device{}()};
};

}  // namespace herald::bench
