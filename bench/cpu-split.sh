#!/usr/bin/env bash
# Server CPU per acked single-user push, split into user and system (kernel) time, for Herald or the
# Node peer: the load of bench/run.sh's metric 5 (500 logged-in clients that ack, pushes to
# /pushMsgToSingleDevice with 64 in flight), the server's utime and stime read from /proc around it.
# The split shows how much of a push is the kernel's sends and receives, which both servers pay.
#   bench/cpu-split.sh [--peer] [--herald BIN] [--threads N] [--seconds S] [--port P]
# Needs build/herald-bench (and build/herald unless --herald is given; node_modules for --peer).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
herald="$root/build/herald" bench="$root/build/herald-bench" peer=0 threads=2 seconds=5 port=23291
while [[ $# -gt 0 ]]; do
  case "$1" in
    --peer) peer=1; shift ;;
    --herald) herald="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "usage: $0 [--peer] [--herald BIN] [--threads N] [--seconds S] [--port P]" >&2; exit 2 ;;
  esac
done
# shellcheck source=lib/scratch.sh
source "$root/bench/lib/scratch.sh"

if [[ $peer == 1 ]]; then
  label="Node peer (bench/peer/server.mjs)"
  node "$root/bench/peer/server.mjs" --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
else
  label="herald --threads $threads"
  "$herald" --port "$port" --threads "$threads" --log-level warn >"$work/server.log" 2>&1 &
fi
server=$!
pids+=("$server")
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
"$bench" connect -p "ws://127.0.0.1:$port/" -a 500 -c 2500 -w 1 -t 10000 --uid-prefix u --duration 600 -q \
  -o "$work/connect.json" --source-ips 127.0.0.13 --expect 1 >/dev/null 2>&1 &
pids+=($!)
sleep 3
cpu_ticks() { awk '{ print $14, $15 }' "/proc/$server/stat"; }
read -r user0 sys0 < <(cpu_ticks)
"$bench" push -p "http://127.0.0.1:$port" -e single --concurrency 64 --users 500 --uid-prefix u --ack -r 0 \
  -d "$seconds" -s 100 -o "$work/push.json" >/dev/null 2>&1
read -r user1 sys1 < <(cpu_ticks)
ok="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).ok)' "$work/push.json")"
ticks="$(getconf CLK_TCK)"
awk -v label="$label" -v ok="$ok" -v u="$((user1 - user0))" -v s="$((sys1 - sys0))" -v hz="$ticks" 'BEGIN {
  if (ok == 0) { print "no push was answered"; exit 1 }
  us = 1e6 / hz / ok
  printf "%s: %d acked pushes; server CPU per push: user %.1f us, system %.1f us, total %.1f us\n",
    label, ok, u * us, s * us, (u + s) * us
}'
