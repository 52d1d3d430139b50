// The sockets of one namespace on each loop and their rooms (a loop's part is used on that loop
// only), the room-to-loops index that lets a broadcast to rooms wake only the loops holding their
// members, and the sockets each loop holds back after they came from another node
// (Namespace::settle_came_back). Running work on every loop with the sockets a Target selects, and
// gathering what each loop answers, goes through here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "net/fan_in.hpp"

namespace herald::socketio {

class Broadcast;
class Client;
class Namespace;
class Socket;
struct CameBack;
struct Target;

class LoopSockets {
 public:
  LoopSockets(Namespace& nsp, size_t loops);
  ~LoopSockets();
  LoopSockets(const LoopSockets&) = delete;
  LoopSockets& operator=(const LoopSockets&) = delete;

  // The sockets of one room on one loop. Most rooms (each user's own) hold a single socket, which
  // needs no hash set: that saves about 120 bytes per logged-in connection.
  class RoomMembers {
   public:
    void insert(Socket* socket);
    void erase(Socket* socket);
    bool empty() const { return !single_ && !many_; }
    template <class F>
    void for_each(F&& visit) const {
      if (single_) visit(single_);
      if (many_)
        for (Socket* socket : *many_) visit(socket);
    }

   private:
    Socket* single_ = nullptr;  // the only member, or null when many_ is in use
    std::unique_ptr<std::unordered_set<Socket*>> many_;
  };

  size_t loop_count() const { return loop_count_; }
  // The sockets connected on `loop`.
  size_t local_count(size_t loop) const;

  // Sockets on `loop` that `target` selects (on that loop).
  std::vector<Socket*> select(size_t loop, const Target& target);
  // Whether `target` selects `socket` (as select() would on its loop).
  static bool selects(const Target& target, const Socket& socket);
  // Runs `work` on every loop with the sockets `target` selects there. Callable from any thread.
  void for_each_loop(Target target, std::function<void(const std::vector<Socket*>&)> work);
  // The loops that may hold sockets `target` selects, a bit per loop: those with members of its
  // rooms when every one of them is a room with members here, else every loop (no rooms, a socket
  // id, a room nobody is in, or more loops than bits).
  uint64_t loops_of(const Target& target) const;
  uint64_t every_loop() const;
  // As for_each_loop, on the loops of `loops` only.
  void for_each_loop_of(uint64_t loops, Target target, std::function<void(const std::vector<Socket*>&)> work);
  // Runs `work` on every loop with the sockets `target` selects there, and `done` with all the
  // results on the calling loop once every loop has answered.
  template <class T>
  void collect(const Target& target, std::function<T(const std::vector<Socket*>&)> work,
               std::function<void(std::vector<T>&)> done);
  // The loop that callers on this thread get their results on (loop 0 for non-loop threads).
  static size_t origin_loop();
  void post_to_loop(size_t loop, std::function<void()> work);

 private:
  // Runs `work` on the loops of `loops` (every loop when `every`) with the sockets `target` selects.
  void post_selecting(uint64_t loops, bool every, Target target, std::function<void(const std::vector<Socket*>&)> work);
  // Membership changes come from a socket's own calls (Socket), its connection (Client) and its
  // namespace; a broadcast notes what it sent a socket that is catching up.
  friend class Broadcast;
  friend class Client;
  friend class Namespace;
  friend class Socket;

  // One loop's sockets, rooms and held sockets (loop_sockets.cpp).
  struct Local;

  // On the socket's loop.
  void add(const std::shared_ptr<Socket>& socket);
  void remove(Socket& socket);
  void join(Socket& socket, const std::string& room);
  void leave(Socket& socket, const std::string& room);
  // Many rooms at once, in time linear in the socket's rooms plus `rooms`.
  void join(Socket& socket, const std::vector<std::string>& rooms);
  void leave(Socket& socket, const std::vector<std::string>& rooms);

  // A socket that came back with a pid this node could not restore, held on its loop until it
  // settles (Namespace::settle_came_back).
  void hold_came_back(const Socket& socket, CameBack came_back);
  void wait_for_rooms(const Socket& socket);
  void sent_live(const Socket& socket, uint64_t seq);
  // Its entry, taken out, when it settles now: it does unless it waits for its rooms and they are
  // not `rooms_ready` yet.
  std::optional<CameBack> take_came_back(const Socket& socket, bool rooms_ready);

  // A room's first member on a loop, and its last one gone: the index and the adapter hear of both.
  RoomMembers& open_room(Local& local, const std::string& room);
  void close_room(Local& local, std::unordered_map<std::string, RoomMembers>::iterator room);

  Namespace& nsp_;
  size_t loop_count_;
  std::vector<Local> locals_;
  // Which loops have members of each room (loops_of): written when a room opens or closes on a loop
  // (a login, a room change), read per broadcast to rooms, which then wakes only those loops.
  mutable std::mutex room_loops_mutex_;
  std::unordered_map<std::string, uint64_t> room_loops_;  // guarded
};

template <class T>
void LoopSockets::collect(const Target& target, std::function<T(const std::vector<Socket*>&)> work,
                          std::function<void(std::vector<T>&)> done) {
  size_t origin = origin_loop();
  auto results = net::FanIn<std::vector<T>>::expect(loop_count(), std::move(done));
  for_each_loop(target, [this, origin, results, work = std::move(work)](const std::vector<Socket*>& sockets) {
    post_to_loop(origin, [results, result = work(sockets)]() mutable {
      results->result().push_back(std::move(result));
      results->arrived();
    });
  });
}

}  // namespace herald::socketio
