#!/usr/bin/env bash
# Acked pushes to all while many users are away: AWAY clients log in and drop (as a network
# failure does, so the server keeps each session for its recovery window), then 500 clients of
# the same users plus others log in and get acked pushes to all at 200 per second (100k
# deliveries/s) for 3 s. Each push is kept for every user away. Prints herald-bench's latency
# table (push -> receipt per message, ms) and the server's kept-push counters.
#   bench/away-users.sh [--herald BIN] [--away N]     (default build/herald, 2000)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
herald="$root/build/herald"
bench="$root/build/herald-bench"
away=2000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --herald) herald="$2"; shift 2 ;;
    --away) away="$2"; shift 2 ;;
    -h|--help) sed -n 2,7p "$0"; exit 0 ;;
    *) echo "away-users: unknown option $1" >&2; exit 2 ;;
  esac
done
port=$((30000 + RANDOM % 10000))
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
"$herald" --host 127.0.0.1 --port "$port" --threads 2 --log-level warn &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
"$bench" connect -p "ws://127.0.0.1:$port/" -a "$away" -c 2500 -w 1 -t 10000 --uid-prefix u --duration 3 -q \
  --drop-on-exit --source-ips 127.0.0.11 >/dev/null
"$bench" connect -p "ws://127.0.0.1:$port/" -a 500 -c 2500 -w 1 -t 10000 --uid-prefix u --duration 30 -q \
  --source-ips 127.0.0.12 >/dev/null &
pids+=($!)
sleep 3
"$bench" push -p "http://127.0.0.1:$port" -e all --ack -r 200 -d 3 --timeout 10000 -s 100 -o "${TMPDIR:-/tmp}/away-users-push.json" 2>&1 | grep -vE "^ *p[0-9]+-[0-9]+ |^\.\.\. "
curl -s "http://127.0.0.1:$port/metrics" | grep -E "^herald_(pending_kept_total|pending_total|recoveries_total)"
