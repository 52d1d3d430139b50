// Service state for systemd (Type=notify): READY=1 once connections are accepted, RELOADING=1 and
// READY=1 around a reload, STOPPING=1 at shutdown, STATUS=... for `systemctl status`. Does nothing
// when systemd did not start the process (no NOTIFY_SOCKET).
#pragma once

#include <string>

namespace herald::app {

void notify_systemd(const std::string& state);

}  // namespace herald::app
