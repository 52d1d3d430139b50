#!/usr/bin/env bash
# Memory per idle connection, TLS against plain: `herald-bench connect` holds N idle, logged-in
# WebSocket clients on Herald, once on a plain port and once on a TLS port (--tls-cert/--tls-key,
# a self-signed certificate made here with the openssl CLI). herald-bench speaks plain WebSocket,
# so HAProxy (mode tcp) stands in front in both runs and, in the TLS run, opens one TLS connection
# to Herald per client (`server ... ssl verify none`). Herald's RSS is read before the clients
# connect and after all of them have been idle for IDLE seconds. See docs/benchmark.md.
#   N=5000 IDLE=5 bench/tls-idle.sh       (HEAP=1: also the bytes malloc holds for live objects, via gdb)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
n="${N:-5000}"
idle="${IDLE:-5}"
rate="${RATE:-2000}"
build="${BUILD:-build}"
bench="${HERALD_BENCH:-$build/herald-bench}"

ulimit -n "$(ulimit -Hn)"
dir="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not open" >&2; exit 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# Bytes malloc holds for live objects (glibc malloc_stats(), through gdb, into the process's stderr):
# RSS also counts memory freed by the handshakes that malloc keeps for reuse.
heap_in_use() {
  local log="$2" lines
  lines="$(wc -l <"$log")"
  gdb -p "$1" -batch -ex 'call (void) malloc_stats()' >/dev/null 2>&1 || true
  tail -n +"$((lines + 1))" "$log" | awk '/^in use bytes/ {v = $NF} END {print v + 0}'
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/key.pem" \
  -out "$dir/cert.pem" -days 1 -subj /CN=localhost 2>/dev/null

run() {
  local mode="$1" port proxy_port herald_pid scheme=http ssl=""
  port="$(free_port)"
  proxy_port="$(free_port)"
  local tls=()
  if [[ "$mode" == tls ]]; then
    tls=(--tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem")
    scheme=https
    ssl=" ssl verify none"
  fi
  "$build/herald" --host 127.0.0.1 --port "$port" --threads 2 --log-level warn "${tls[@]}" 2>"$dir/herald-$mode.log" &
  herald_pid=$!
  pids+=("$herald_pid")
  wait_port "$port"
  cat >"$dir/haproxy-$mode.cfg" <<CFG
global
  maxconn $((n + 100))
defaults
  mode tcp
  timeout connect 5s
  timeout client 10m
  timeout server 10m
listen front
  bind 127.0.0.1:$proxy_port
  server herald 127.0.0.1:$port$ssl
CFG
  haproxy -f "$dir/haproxy-$mode.cfg" -db >"$dir/haproxy-$mode.log" 2>&1 &
  pids+=($!)
  wait_port "$proxy_port"
  sleep 1
  local before heap_before=0
  before="$(rss_kib "$herald_pid")"
  [[ -n "${HEAP:-}" ]] && heap_before="$(heap_in_use "$herald_pid" "$dir/herald-$mode.log")"
  "$bench" connect -p "ws://127.0.0.1:$proxy_port/" -a "$n" -c "$rate" -w 2 -q \
    --duration $((n / rate + idle + 60)) >"$dir/bench-$mode.log" 2>&1 &
  local bench_pid=$!
  pids+=("$bench_pid")
  local connected=0
  for _ in $(seq 600); do
    connected="$(curl -sk "$scheme://127.0.0.1:$port/metrics" | awk '/^herald_connections\{transport="websocket"\}/ {print $2}')"
    [[ "${connected:-0}" -ge "$n" ]] && break
    sleep 0.1
  done
  sleep "$idle"
  local after
  after="$(rss_kib "$herald_pid")"
  echo "$mode: $connected idle WebSocket clients; Herald RSS $before -> $after KiB = $(((after - before) * 1024 / n)) B per connection"
  if [[ -n "${HEAP:-}" ]]; then
    local heap_after
    heap_after="$(heap_in_use "$herald_pid" "$dir/herald-$mode.log")"
    echo "$mode: malloc in use $heap_before -> $heap_after B = $(((heap_after - heap_before) / n)) B per connection"
  fi
  kill -TERM "$bench_pid" 2>/dev/null || true
  wait "$bench_pid" 2>/dev/null || true
}

# One mode per process tree, so the second run does not share the machine with the first's leftovers.
for mode in ${MODES:-plain tls}; do
  [[ "$mode" == "${ONLY:-$mode}" ]] || continue
  if [[ -z "${ONLY:-}" ]]; then ONLY="$mode" "$0"; else run "$mode"; fi
done
