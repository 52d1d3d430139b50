#!/usr/bin/env bash
# Churn across a cluster: redis-server, two Herald nodes and a round-robin HAProxy in front, then
# `herald-bench churn` through HAProxy (so a client that reconnects lands on the other node half of
# the time) while the pushes enter node 1. With --kill, node 2 is SIGKILLed halfway through the run
# and started again 2 s later. See docs/benchmark.md.
#   bench/churn-cluster.sh [--kill] [churn options...]     e.g. -a 1000 -d 30 --ack true
# CHURN_THREADS=N gives each node N event loops (default 1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kill_node=false
if [[ "${1:-}" == "--kill" ]]; then kill_node=true; shift; fi
duration=30
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do [[ "${args[i]}" == "-d" ]] && duration="${args[i + 1]}"; done

ulimit -n "$(ulimit -Hn)"
dir="$(mktemp -d)"
pids=()
cleanup() {
  # CHURN_KEEP_DIR=path keeps the nodes' logs and each push's per-user states from Redis there.
  if [[ -n "${CHURN_KEEP_DIR:-}" ]]; then
    mkdir -p "$CHURN_KEEP_DIR"
    cp "$dir"/*.log "$CHURN_KEEP_DIR"/ 2>/dev/null || true
    for key in $(redis-cli -p "$redis_port" --scan --pattern 'herald:msg:*' 2>/dev/null); do
      echo "== $key"
      redis-cli -p "$redis_port" hgetall "$key"
    done >"$CHURN_KEEP_DIR/states.txt" 2>/dev/null || true
  fi
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; for f in "$dir"/*.log; do echo "== $f"; tail -n 5 "$f"; done >&2; exit 1; }

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$dir/redis.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"

start_node() { # port log
  build/herald --port "$1" --push-namespace / --redis "redis://127.0.0.1:$redis_port" --threads "${CHURN_THREADS:-1}" \
    --node-heartbeat-ms 500 --log-level "${CHURN_LOG_LEVEL:-info}" >>"$2" 2>&1 &
  echo $!
}
port1=$(free_port)
node1=$(start_node "$port1" "$dir/node1.log")
pids+=("$node1")
wait_port "$port1"
port2=$(free_port)
node2=$(start_node "$port2" "$dir/node2.log")
pids+=("$node2")
wait_port "$port2"

lb_port=$(free_port)
cat >"$dir/haproxy.cfg" <<CFG
global
  maxconn 9000
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout tunnel 60s
frontend front
  bind 127.0.0.1:$lb_port
  default_backend heralds
backend heralds
  balance roundrobin
  server node1 127.0.0.1:$port1
  server node2 127.0.0.1:$port2
CFG
haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
pids+=($!)
wait_port "$lb_port"
sleep 1

if $kill_node; then
  (
    sleep "$(echo "$duration / 2 + 3" | bc)"
    echo "churn-cluster: SIGKILL node 2 (pid $node2)" >&2
    kill -KILL "$node2"
    sleep 2
    start_node "$port2" "$dir/node2.log" >"$dir/node2.pid"
    echo "churn-cluster: node 2 started again" >&2
  ) &
fi

build/herald-bench churn "http://127.0.0.1:$lb_port/" --push-url "http://127.0.0.1:$port1" "${args[@]}"
[[ -f "$dir/node2.pid" ]] && pids+=("$(cat "$dir/node2.pid")")
exit 0
