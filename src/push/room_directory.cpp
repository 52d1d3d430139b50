#include "push/room_directory.hpp"

#include <string_view>
#include <unordered_set>

namespace herald::push {

void MemoryRoomDirectory::rooms_of(const std::string& uid, std::function<void(std::vector<std::string>)> done) {
  std::vector<std::string> rooms;
  {
    std::lock_guard lock(mutex_);
    if (auto found = rooms_.find(uid); found != rooms_.end()) rooms = found->second;
  }
  done(std::move(rooms));
}

void MemoryRoomDirectory::set_rooms(const std::string& uid, std::vector<std::string> rooms) {
  std::lock_guard lock(mutex_);
  if (rooms.empty()) {
    rooms_.erase(uid);
  } else {
    rooms_[uid] = std::move(rooms);
  }
}

void MemoryRoomDirectory::change_rooms(const std::string& uid, const std::vector<std::string>& joins,
                                       const std::vector<std::string>& leaves) {
  std::lock_guard lock(mutex_);
  auto& rooms = rooms_[uid];
  // Hash sets, so that thousands of rooms cost linear time (a changeRoom call is capped, not small).
  if (!leaves.empty()) {
    std::unordered_set<std::string_view> gone(leaves.begin(), leaves.end());
    std::erase_if(rooms, [&](const std::string& room) { return gone.contains(room); });
  }
  rooms.reserve(rooms.size() + joins.size());  // keeps the views in `have` valid as it grows
  std::unordered_set<std::string_view> have(rooms.begin(), rooms.end());
  for (const auto& room : joins)
    if (have.insert(room).second) rooms.push_back(room);
  if (rooms.empty()) rooms_.erase(uid);
}

}  // namespace herald::push
