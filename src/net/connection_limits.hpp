// Open HTTP connections per client address, across every loop of the process: a client holding
// connections without finishing requests (slowloris) runs out of them, others do not. Counted from
// the moment the client's address is known (after a PROXY header) until the connection closes or
// becomes a WebSocket (Engine.IO's per-IP session limit counts those).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace herald::net {

class ConnectionsPerAddress {
 public:
  explicit ConnectionsPerAddress(size_t max_per_address) : max_(max_per_address) {}

  // One connection's place in the count; empty when refused. Gives it back when destroyed.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept : owner_(other.owner_), address_(std::move(other.address_)) { other.owner_ = nullptr; }
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { release(); }
    explicit operator bool() const { return owner_ != nullptr; }
    void release();

   private:
    friend class ConnectionsPerAddress;
    Slot(ConnectionsPerAddress* owner, std::string address) : owner_(owner), address_(std::move(address)) {}
    ConnectionsPerAddress* owner_ = nullptr;
    std::string address_;
  };

  // A slot for one more connection from `address`; empty when it holds the maximum already.
  Slot acquire(const std::string& address);
  size_t count(const std::string& address) const;

 private:
  void give_back(const std::string& address);

  size_t max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, size_t> counts_;
};

}  // namespace herald::net
