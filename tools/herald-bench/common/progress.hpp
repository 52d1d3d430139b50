// Progress of a long run, once a second: on a terminal one line refreshed in place (carriage
// return, erase to the end of the line, cut to the terminal's width so it never wraps); anywhere
// else (a log file, a pipe, CI) one plain line per update, so the history stays readable.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace herald::bench {

class ProgressLine {
 public:
  explicit ProgressLine(std::FILE* out = stderr);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool in_place() const { return in_place_; }
  // Shows `text` as the current progress.
  void update(const std::string& text);
  // Prints a message of its own (ending in a newline) above the progress line.
  void message(std::string_view text);
  // Leaves the last progress on screen, so that what follows starts on a line of its own.
  void finish();

 private:
  void clear();

  std::FILE* out_;
  bool in_place_;
  std::string shown_;  // the line on screen now (in place only)
};

// A counter's rate per second between two readings (the first: since the Rate was made, at 0).
class Rate {
 public:
  double update(uint64_t total, SteadyClock::time_point now = SteadyClock::now());

 private:
  uint64_t last_ = 0;
  SteadyClock::time_point at_ = SteadyClock::now();
};

}  // namespace herald::bench
