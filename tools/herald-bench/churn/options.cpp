// The command-line options of `herald-bench churn`.
#include "churn/options.hpp"

#include <CLI/CLI.hpp>

namespace herald::bench {

void add_churn_options(CLI::App& command, ChurnOptions& options) {
  command.add_option("url,-p,--path", options.url, "Server URL http://host:port[/namespace] (ws:// works too)")
      ->capture_default_str();
  command.add_option("-a,--amount", options.clients, "Number of clients")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      .add_option("-w,--workers", options.workers,
                  "Worker processes; each runs clients/workers clients and holds at most its open-file limit of "
                  "sockets")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      .add_option("-c,--concurrency", options.connect_rate, "New connections per second while clients first connect")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command.add_option("-d,--duration", options.duration_s, "Seconds to push (and drop connections) for")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command.add_option("-r,--rate", options.rate, "Pushes per second")->capture_default_str()->check(CLI::PositiveNumber);
  command
      .add_option("--offline-ms", options.offline_ms,
                  "How long a dropped client stays offline before it reconnects (socket.io-client's "
                  "reconnectionDelay); also the wait before retrying a failed connection")
      ->capture_default_str();
  command
      .add_option("--drop-every-ms", options.drop_every_ms,
                  "Mean time a client stays connected before its TCP connection is reset")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command
      .add_option("--drop-jitter-ms", options.drop_jitter_ms,
                  "Each connected spell lasts drop-every +- up to this much (uniform, per client)")
      ->capture_default_str();
  command
      .add_option("--drain-ms", options.drain_ms,
                  "After the last push, how long clients stay connected (no more drops) to receive what is late")
      ->capture_default_str();
  command.add_option("--push-url", options.push_url,
                     "Base URL of the push API http://host:port when it is not the server's (e.g. clients go "
                     "through a load balancer)");
  command.add_option("--push-path", options.push_path, "Push API path; every client is pushed to")
      ->capture_default_str();
  command
      .add_option("--ack", options.ack,
                  "The push's `ack` field: true asks the server for the clients' acks (socket.io does not store "
                  "acked broadcasts for recovery)")
      ->default_str("true");
  command
      .add_option("--ack-timeout", options.ack_timeout_ms, "The push's `timeout` field: how long acks are awaited, ms")
      ->capture_default_str();
  command.add_option("-s,--size", options.size, "Message size in bytes: {\"t\":<epoch us>,\"seq\":n,\"pad\":\"xx..\"}")
      ->capture_default_str();
  command.add_option("--token", options.token, "Push API token, sent as Authorization: Bearer <token>");
  command.add_option("--uid-prefix", options.uid_prefix, "User ids are this prefix + the client's index")
      ->capture_default_str();
  command
      .add_option("--login", options.login,
                  "emit: emit login(uid) after every (re)connect, as the seed's client; auth: send {\"uid\"} in "
                  "the CONNECT auth")
      ->capture_default_str()
      ->check(CLI::IsMember({"emit", "auth"}));
  command.add_option("--socketio-path", options.socketio_path, "Engine.IO request path on the server")
      ->capture_default_str();
  command.add_option("-o,--output", options.output, "Also write the report as JSON to this file");
}

}  // namespace herald::bench
