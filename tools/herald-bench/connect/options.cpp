#include "connect/options.hpp"

#include <CLI/CLI.hpp>

namespace herald::bench {

std::string namespace_from_path(const std::string& path) {
  std::string nsp = path.substr(0, path.find('?'));
  while (nsp.size() > 1 && nsp.back() == '/') nsp.pop_back();
  if (nsp.empty()) nsp = "/";
  return nsp;
}

void add_connect_options(CLI::App& command, ConnectOptions& options) {
  command.add_option("-p,--path", options.path, "Server URL ws://host:port[/namespace]")->capture_default_str();
  command.add_option("-a,--amount", options.amount, "Total number of clients")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      .add_option("-c,--concurrency", options.concurrency, "New connections started per second, all workers together")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      .add_option("-w,--workers", options.workers,
                  "Worker processes; each runs amount/workers clients and can hold at most as many sockets as its "
                  "open-file limit")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      .add_option("-t,--time", options.receive_timeout_ms,
                  "Receive timeout in ms: how long after a message's first receipt every client must have it "
                  "(else 'receive timed out'); also how long to wait for stragglers before stopping")
      ->capture_default_str();
  command
      .add_option("--duration", options.duration_s,
                  "Seconds to stay connected, then report and exit (default: until Ctrl-C/SIGTERM or --messages)")
      ->check(CLI::NonNegativeNumber);
  command.add_flag("--drop-on-exit", options.drop_on_exit,
                   "At exit, drop the connections as a network failure would, instead of leaving the namespace: "
                   "the server keeps each session for recovery (pushes to all and rooms are then kept for them)");
  command.add_option("--messages", options.messages,
                     "Stop once this many distinct messages were received (and settled within --time)");
  command.add_option("--expect", options.expect,
                     "Receivers expected per message (for single/batch/room pushes); default: every connected "
                     "client");
  command.add_option("--transport", options.transport, "Engine.IO transport")
      ->capture_default_str()
      ->check(CLI::IsMember({"websocket", "polling"}));
  command.add_option("--uid-prefix", options.uid_prefix, "User ids are this prefix + the client's global index")
      ->capture_default_str();
  command.add_option("--source-ips", options.source_ips,
                     "Local addresses to connect from, round robin, e.g. 127.0.0.2-127.0.0.20 (each address has "
                     "its own ~28k ports towards one server)");
  command.add_option("--socketio-path", options.socketio_path, "Engine.IO request path on the server")
      ->capture_default_str();
  command.add_option("-o,--output", options.output, "Also write the final report as JSON to this file");
  command.add_flag("-q,--quiet", options.quiet, "Do not print a line per message as it settles");
}

}  // namespace herald::bench
