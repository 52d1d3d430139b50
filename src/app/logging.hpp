// Log setup: one line per event on stderr at the configured level, as text (time, level, thread,
// message) or as JSON (one object per line, for journald and log shippers).
#pragma once

#include <string>

namespace herald::app {

// `format`: "text" or "json" (the log_format setting, already checked).
void setup_logging(const std::string& level, const std::string& format = "text");

}  // namespace herald::app
