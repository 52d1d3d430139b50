// `herald-bench push`: checks the options, runs the Pusher, prints and saves the report.
#include <csignal>
#include <fstream>

#include <fmt/core.h>

#include "common/net.hpp"
#include "common/url.hpp"
#include "push/options.hpp"
#include "push/pusher.hpp"
#include "push/report.hpp"
#include "push/targets.hpp"

namespace herald::bench {

int run_push(const PushOptions& given) {
  PushOptions options = given;
  std::string error;
  auto url = parse_url(options.path, error);
  if (!url || url->scheme != "http") {
    fmt::print(stderr, "herald-bench push: --path must be http://host:port{}{}\n", error.empty() ? "" : ": ", error);
    return 2;
  }
  auto targets = Targets::from_options(options, error);
  if (!targets) {
    fmt::print(stderr, "herald-bench push: {}\n", error);
    return 2;
  }
  // The seed's message.js pushed every 30 s unless told otherwise.
  double rate = options.rate >= 0 ? options.rate : 1000.0 / (options.interval_ms > 0 ? options.interval_ms : 30000.0);
  if (options.duration_s < 0) options.duration_s = options.count ? 0 : 10;

  tcp::endpoint server;
  try {
    asio::io_context io;
    server = resolve_endpoint(io, url->host, url->port);
  } catch (const std::exception& e) {
    fmt::print(stderr, "herald-bench push: cannot resolve {}: {}\n", url->host, e.what());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);

  std::string api_url = fmt::format("http://{}{}", url->host_header(), targets->api_path());
  asio::io_context io{1};
  Pusher pusher(io, options, server, url->host_header(), std::move(*targets), rate);
  PushResult result = pusher.run();
  print_push_report(result, options, api_url, rate);
  if (!options.output.empty()) {
    std::ofstream out(options.output);
    out << push_report_json(result, options, api_url, rate).dump(2) << "\n";
    if (!out) fmt::print(stderr, "herald-bench push: cannot write {}\n", options.output);
  }
  return result.server_failed ? 1 : 0;
}

}  // namespace herald::bench
