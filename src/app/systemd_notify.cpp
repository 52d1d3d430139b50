#include "app/systemd_notify.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstring>

namespace herald::app {

void notify_systemd(const std::string& state) {
  int result = ::sd_notify(0, state.c_str());
  if (result < 0) spdlog::warn("cannot tell systemd '{}': {}", state, std::strerror(-result));
}

}  // namespace herald::app
