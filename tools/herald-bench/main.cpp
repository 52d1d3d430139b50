// herald-bench: load tools for Socket.IO push servers such as Herald.
//   connect  many clients that log in and ack every message; reports receipt and latency per message
//   push     pushes through the HTTP push API at a steady rate; reports answers and latency
//   churn    clients whose connections keep dropping while pushes go out; reports what was delivered
#include <CLI/CLI.hpp>

#include "churn/options.hpp"
#include "connect/options.hpp"
#include "push/options.hpp"

int main(int argc, char** argv) {
  using namespace herald::bench;
  CLI::App app{
      "herald-bench: load tools for a Socket.IO push server (Herald, or the Node peer in bench/peer).\n"
      "Run `connect` to hold many clients and measure message receipt, and `push` in another shell to\n"
      "push messages through the HTTP API. Both print live counters on stderr and a report on stdout\n"
      "(-o for JSON). Example:\n"
      "  herald-bench connect -a 2000 -c 500 -w 2 --duration 15\n"
      "  herald-bench push -e all -r 5 -d 10\n"
      "`churn` runs clients and pushes together, dropping connections as it goes.",
      "herald-bench"};
  app.require_subcommand(1);

  ConnectOptions connect;
  auto* connect_command = app.add_subcommand(
      "connect",
      "Open many Socket.IO clients (the seed's client.js): each logs in as uid-prefix+index and acks every "
      "message(msgId, message); reports per message how many received it and the push-to-receipt latency, then "
      "'all received' or 'receive timed out'. Exit code 1 when a message timed out.");
  add_connect_options(*connect_command, connect);

  PushOptions push;
  auto* push_command = app.add_subcommand(
      "push",
      "Push messages through the HTTP API (the seed's message.js): each message is JSON "
      "{\"t\":<epoch us>,\"seq\":n,\"pad\":...} so `connect` can time it; reports answers, HTTP latency and "
      "receipts, and stops (exit code 1) when the server refuses connections or pushes keep failing.");
  add_push_options(*push_command, push);

  ChurnOptions churn;
  auto* churn_command = app.add_subcommand(
      "churn",
      "Measure delivery while connections drop: -a clients each have their TCP connection reset every "
      "~15 s (+-5 s) and reconnect after 2 s, as socket.io-client 4.6+ does (with connection state recovery "
      "when the server offers it), while pushes go to all of them at -r per second for -d seconds. Reports "
      "delivered % (distinct msgIds per client over clients x pushes), duplicates, push-to-receipt latency "
      "and recovered reconnects. Exit code 1 only when the run itself failed.");
  add_churn_options(*churn_command, churn);

  CLI11_PARSE(app, argc, argv);
  if (connect_command->parsed()) return run_connect(connect);
  if (churn_command->parsed()) return run_churn(churn);
  return run_push(push);
}
