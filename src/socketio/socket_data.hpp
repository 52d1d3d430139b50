// The server's own typed data on a socket (Socket::attach): a class the server derives from
// SocketData with the fields it needs, which the library keeps, reports and carries without knowing
// them. Immutable once attached, and shared rather than copied: the socket, the reports of the
// sockets a broadcast reached (SocketInfo, handed from loop to loop) and a dropped socket's
// recovery session (RecoveredSession) hold the same object by an 8-byte intrusive pointer with a
// thread-safe count. To change it, attach a new one.
#pragma once

#include <boost/smart_ptr/intrusive_ptr.hpp>
#include <boost/smart_ptr/intrusive_ref_counter.hpp>
#include <cassert>

#include "socketio/packet.hpp"

namespace herald::socketio {

class SocketData : public boost::intrusive_ref_counter<SocketData, boost::thread_safe_counter> {
 public:
  SocketData(const SocketData&) = delete;
  SocketData& operator=(const SocketData&) = delete;
  virtual ~SocketData() = default;

  // What fetchSockets reports of it: adds its fields to the socket's `data` (an object), as other
  // nodes and Socket.IO servers see them. Nothing by default.
  virtual void report(Json& data) const { (void)data; }

 protected:
  SocketData() = default;
};

using SocketDataPtr = boost::intrusive_ptr<const SocketData>;

// The attached data as the server's type `T` (null when nothing is attached). A server attaches
// one type of its own, so the cast is static; debug builds check it.
template <class T>
const T* attached_as(const SocketDataPtr& attached) {
  assert(!attached || dynamic_cast<const T*>(attached.get()));
  return static_cast<const T*>(attached.get());
}

}  // namespace herald::socketio
