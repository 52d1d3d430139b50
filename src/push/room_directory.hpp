// Where a user's rooms come from (the seed's `room@<uid>`, written by the backend): a user joins
// them on login. This is the in-process store; a clustered deployment keeps them in Redis.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace herald::push {

class RoomDirectory {
 public:
  virtual ~RoomDirectory() = default;
  // `done` may run on another thread; callers post back to their loop if they need to.
  virtual void rooms_of(const std::string& uid, std::function<void(std::vector<std::string>)> done) = 0;
  virtual void set_rooms(const std::string& uid, std::vector<std::string> rooms) = 0;
  // Applies a changeRoom: removes `leaves`, then adds `joins` (no duplicates).
  virtual void change_rooms(const std::string& uid, const std::vector<std::string>& joins,
                            const std::vector<std::string>& leaves) = 0;
};

class MemoryRoomDirectory : public RoomDirectory {
 public:
  void rooms_of(const std::string& uid, std::function<void(std::vector<std::string>)> done) override;
  void set_rooms(const std::string& uid, std::vector<std::string> rooms) override;
  void change_rooms(const std::string& uid, const std::vector<std::string>& joins,
                    const std::vector<std::string>& leaves) override;

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::vector<std::string>> rooms_;
};

}  // namespace herald::push
