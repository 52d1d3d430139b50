// Log setup: one line per event on stderr, with level and thread, at the configured level.
#pragma once

#include <string>

namespace herald::app {

void setup_logging(const std::string& level);

}  // namespace herald::app
