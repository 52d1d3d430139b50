#include "common/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

namespace herald::bench {
namespace {

size_t terminal_width(std::FILE* out) {
  winsize size{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace

ProgressLine::ProgressLine(std::FILE* out) : out_(out), in_place_(::isatty(::fileno(out)) == 1) {}

void ProgressLine::update(const std::string& text) {
  if (!in_place_) {
    std::fprintf(out_, "%s\n", text.c_str());
    std::fflush(out_);
    return;
  }
  // One column short of the width: a line that fills it would wrap on some terminals.
  size_t width = terminal_width(out_);
  shown_ = text.size() < width ? text : text.substr(0, width > 1 ? width - 1 : 0);
  std::fprintf(out_, "\r\033[K%s", shown_.c_str());
  std::fflush(out_);
}

void ProgressLine::message(std::string_view text) {
  clear();
  std::fwrite(text.data(), 1, text.size(), out_);
  if (in_place_ && !shown_.empty()) std::fprintf(out_, "%s", shown_.c_str());
  std::fflush(out_);
}

void ProgressLine::finish() {
  if (in_place_ && !shown_.empty()) std::fputc('\n', out_);
  shown_.clear();
  std::fflush(out_);
}

void ProgressLine::clear() {
  if (in_place_ && !shown_.empty()) std::fprintf(out_, "\r\033[K");
}

double Rate::update(uint64_t total, SteadyClock::time_point now) {
  double rate = 0;
  double seconds = std::chrono::duration<double>(now - at_).count();
  if (seconds > 0 && total >= last_) rate = static_cast<double>(total - last_) / seconds;
  last_ = total;
  at_ = now;
  return rate;
}

}  // namespace herald::bench
