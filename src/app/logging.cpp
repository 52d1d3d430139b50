#include "app/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <memory>

#include "codec/json.hpp"

namespace herald::app {
namespace {

// {"time":"2026-01-02T03:04:05.678Z","level":"info","pid":12,"thread":34,"msg":"...","worker":"0"} per
// line ("worker" only in a worker of the supervisor).
// nlohmann::json escapes the message (quotes, control characters; invalid UTF-8 is replaced), so
// every line parses whatever a log message holds.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    herald::Json line = {{"time", utc_time(msg.time)},
                         {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                                               spdlog::level::to_string_view(msg.level).size())},
                         {"pid", static_cast<long>(::getpid())},
                         {"thread", msg.thread_id},
                         {"msg", std::string(msg.payload.data(), msg.payload.size())}};
    // A worker of the supervisor names itself (read here: a forked worker shares this formatter).
    if (const char* worker = std::getenv("HERALD_WORKER_INDEX")) line["worker"] = worker;
    std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLineFormatter>(); }

 private:
  static std::string utc_time(spdlog::log_clock::time_point time) {
    auto since_epoch = time.time_since_epoch();
    std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char text[32];
    size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    return std::string(text, n) + fmt::format(".{:03}Z", millis);
  }
};

}  // namespace

void setup_logging(const std::string& level, const std::string& format) {
  auto logger = spdlog::stderr_color_mt("herald");
  if (format == "json") {
    logger->set_formatter(std::make_unique<JsonLineFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%t] %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

}  // namespace herald::app
