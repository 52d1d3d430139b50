#include "push/room_directory.hpp"

#include <algorithm>

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
  std::erase_if(rooms,
                [&](const std::string& room) { return std::find(leaves.begin(), leaves.end(), room) != leaves.end(); });
  for (const auto& room : joins)
    if (std::find(rooms.begin(), rooms.end(), room) == rooms.end()) rooms.push_back(room);
  if (rooms.empty()) rooms_.erase(uid);
}

}  // namespace herald::push
