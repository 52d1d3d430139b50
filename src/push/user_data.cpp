// UserData's single allocation: the object, then the user id's characters.
#include "push/user_data.hpp"

#include <cstring>
#include <new>

namespace herald::push {

UserData::Ptr UserData::make(std::string_view uid, uint64_t seq) {
  if (uid.empty()) return nullptr;
  void* block = ::operator new(sizeof(UserData) + uid.size());
  auto* user = new (block) UserData(static_cast<uint32_t>(uid.size()), seq);
  std::memcpy(static_cast<char*>(block) + sizeof(UserData), uid.data(), uid.size());
  return Ptr(user);
}

void UserData::operator delete(void* object) noexcept { ::operator delete(object); }

void UserData::report(socketio::Json& data) const {
  data["uid"] = uid();
  data["seq"] = seq_;
}

}  // namespace herald::push
