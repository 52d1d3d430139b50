#!/usr/bin/env bash
# Allocations (malloc calls) the server makes per acked push to one user through the seed's
# /pushMsgToSingleDevice: one logged-in client that acks, pushes one at a time, the server's
# mallocs counted around the measured pushes (after a warm-up) and divided by their number.
#   bench/allocations-per-push.sh [--herald BIN] [--pushes N] [--port P]
# Needs build/herald-bench (and build/herald unless --herald is given) and a C compiler.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
herald="$root/build/herald" bench="$root/build/herald-bench" pushes=2000 port=23191
while [[ $# -gt 0 ]]; do
  case "$1" in
    --herald) herald="$2"; shift 2 ;;
    --pushes) pushes="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "usage: $0 [--herald BIN] [--pushes N] [--port P]" >&2; exit 2 ;;
  esac
done
# shellcheck source=lib/scratch.sh
source "$root/bench/lib/scratch.sh"
cc -O2 -shared -fPIC -pthread -o "$work/count_mallocs.so" "$root/bench/allocations/count_mallocs.c"
dump() { touch "$work/dump"; while [[ -e "$work/dump" ]]; do sleep 0.02; done; }

COUNT_MALLOCS_DIR="$work" LD_PRELOAD="$work/count_mallocs.so" "$herald" --port "$port" --threads 1 \
  --log-level warn 2>"$work/herald.log" &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
"$bench" connect -p "ws://127.0.0.1:$port/" -a 1 -c 1 -q --duration 600 >/dev/null 2>&1 &
pids+=($!)
sleep 1
push() { "$bench" push -p "http://127.0.0.1:$port" -e single --users 1 -r 0 -n "$1" --concurrency 1; }
push 200 >/dev/null 2>&1  # warm-up: buffers and tables reach their size
dump
push "$pushes" >"$work/push.txt" 2>&1
dump
grep -E "^pushes:" "$work/push.txt"
awk -v n="$pushes" 'NR == 1 { a = $1 } NR == 2 { b = $1 } END { printf "allocations per acked push: %.1f\n", (b - a) / n }' \
  "$work/counts"
