#include "push/options.hpp"

#include <CLI/CLI.hpp>

namespace herald::bench {

void add_push_options(CLI::App& command, PushOptions& options) {
  command.add_option("-p,--path", options.path, "Server URL http://host:port")->capture_default_str();
  command
      .add_option("-e,--endpoint", options.endpoint,
                  "all: /pushMsgToAll; room: /pushMsgToRoom (--room); single: /pushMsgToSingleDevice (--users); "
                  "batch: /pushBatchUniMsg (--users, --batch-size); api-batch: POST /api/v1/push/batch, "
                  "--batch-size pushes of one user each per request (--users)")
      ->capture_default_str()
      ->check(CLI::IsMember({"all", "room", "single", "batch", "api-batch"}));
  command.add_option("--room", options.rooms, "Room name(s), comma-separated, sent as `tags` (endpoint room)");
  command.add_option("--users", options.users,
                     "Users for single/batch: a count N (uid-prefix + 0..N-1, as `connect` names its clients) or a "
                     "comma-separated list");
  command.add_option("--uid-prefix", options.uid_prefix, "Prefix of generated user ids")->capture_default_str();
  command.add_option("--pick", options.pick, "How users are picked for each push")
      ->capture_default_str()
      ->check(CLI::IsMember({"roundrobin", "random"}));
  command.add_option("--batch-size", options.batch_size, "Users per push for batch; pushes per request for api-batch")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  auto* rate = command.add_option("-r,--rate", options.rate, "Pushes per second (0: as fast as --concurrency allows)")
                   ->check(CLI::NonNegativeNumber);
  command.add_option("-i,--interval", options.interval_ms, "Milliseconds between pushes (default 30000 without -r)")
      ->check(CLI::PositiveNumber)
      ->excludes(rate);
  command.add_option("-s,--size", options.size, "Message size in bytes: {\"t\":<epoch us>,\"seq\":n,\"pad\":\"xx..\"}")
      ->capture_default_str();
  command.add_flag("--ack,!--no-ack", options.ack,
                   "Ask the server to wait for the clients' acks and answer with who acked (default on)");
  command.add_option("--timeout", options.timeout_ms, "How long the server waits for acks, ms")->capture_default_str();
  command.add_option("-d,--duration", options.duration_s, "Seconds to push for (default 10, or unlimited with -n)")
      ->check(CLI::PositiveNumber);
  command.add_option("-n,--count", options.count, "Total pushes (stops at whichever of -n and -d comes first)");
  command.add_option("--concurrency", options.concurrency, "Most HTTP requests in flight (keep-alive connections)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command.add_option("--max-errors", options.max_errors, "Give up after this many failed pushes in a row")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command.add_option("--token", options.token, "API token, sent as Authorization: Bearer <token>");
  command.add_option("-o,--output", options.output, "Also write the report as JSON to this file");
}

}  // namespace herald::bench
