#include "net/connection_limits.hpp"

#include <utility>

namespace herald::net {

ConnectionsPerAddress::Slot& ConnectionsPerAddress::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    address_ = std::move(other.address_);
  }
  return *this;
}

void ConnectionsPerAddress::Slot::release() {
  if (auto* owner = std::exchange(owner_, nullptr)) owner->give_back(address_);
}

ConnectionsPerAddress::Slot ConnectionsPerAddress::acquire(const std::string& address) {
  std::lock_guard lock(mutex_);
  size_t& count = counts_[address];
  if (count >= max_) {
    if (count == 0) counts_.erase(address);
    return Slot();
  }
  ++count;
  return Slot(this, address);
}

size_t ConnectionsPerAddress::count(const std::string& address) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(address);
  return it == counts_.end() ? 0 : it->second;
}

void ConnectionsPerAddress::give_back(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(address);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
}

}  // namespace herald::net
