#include "cluster/gatherings.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace herald::cluster {

void Gatherings::start(const std::string& request_id, std::chrono::milliseconds timeout, Gathering gathering) {
  auto entry = std::make_shared<Entry>(Entry{std::move(gathering), boost::asio::steady_timer(loop_, timeout)});
  entry->timer.async_wait([weak = weak_from_this(), request_id](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!ec && self) self->finish(request_id, false);
  });
  entries_[request_id] = std::move(entry);
}

void Gatherings::start_uncounted(const std::string& request_id, std::chrono::milliseconds timeout,
                                 Gathering gathering) {
  start(request_id, timeout, std::move(gathering));
  entries_[request_id]->counted = false;
}

void Gatherings::counted(const std::string& request_id, size_t awaiting, bool ok) {
  auto found = entries_.find(request_id);
  if (found == entries_.end()) return;
  Entry& entry = *found->second;
  entry.counted = true;
  entry.gathering.awaiting = awaiting;
  if (!ok || entry.answered >= awaiting) finish(request_id, ok);
}

bool Gatherings::answer(const std::string& request_id, Body& body) {
  auto found = entries_.find(request_id);
  if (found == entries_.end()) return false;
  auto entry = found->second;
  if (!entry->gathering.take(body)) return true;
  if (++entry->answered >= entry->gathering.awaiting && entry->counted) finish(request_id, true);
  return true;
}

void Gatherings::finish(const std::string& request_id, bool complete) {
  auto found = entries_.find(request_id);
  if (found == entries_.end()) return;
  auto entry = found->second;
  entries_.erase(found);
  entry->timer.cancel();
  if (!complete)
    spdlog::log(
        entry->gathering.silence_expected ? spdlog::level::debug : spdlog::level::warn,
        "cluster: {} timed out with {} nodes silent", entry->gathering.what,
        entry->counted ? entry->gathering.awaiting - std::min(entry->answered, entry->gathering.awaiting) : size_t{0});
  entry->gathering.done(complete);
}

}  // namespace herald::cluster
