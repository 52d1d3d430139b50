// Catching up a socket that came back with a pid this node could not restore: another node's (a
// reconnect through a balancer, or after its node died) or one whose session is gone. It is not
// `recovered` (its id, data and rooms stay those of the new socket), but once the application has
// settled its rooms it is sent every broadcast after its offset that those rooms select and that
// it was not sent live since it connected here. So no broadcast is lost to a reconnect that lands
// elsewhere, as long as this node's log still holds it.
#pragma once

#include "socketio/namespace.hpp"
#include "socketio/recovery.hpp"

namespace herald::socketio {

// On the socket's loop. `came_back.offset` must be set.
void catch_up(const Recovery& recovery, Socket& socket, const CameBack& came_back);

}  // namespace herald::socketio
