#!/usr/bin/env bash
# The side-by-side benchmark of Herald against the Node peer: see docs/benchmark.md.
#   bench/run.sh            full run (about 10 minutes)
#   bench/run.sh --quick    smoke run (about 2 minutes)
#   bench/run.sh --help     every option
# Everything listens on 127.0.0.1 and the clients connect from 127.0.0.0/8. Every process the run
# starts is stopped when it ends, fails or is interrupted (Ctrl-C).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

for arg in "$@"; do
  if [[ "$arg" == "-h" || "$arg" == "--help" ]]; then exec node bench/run.mjs --help; fi
done

need() { command -v "$1" >/dev/null 2>&1 || { echo "bench: $1 is needed ($2)" >&2; exit 2; }; }
need node "Node.js 18+ runs the peer and the driver"
need redis-server "apt-get install redis-server"

if [[ ! -x build/herald || ! -x build/herald-bench ]]; then
  echo "bench: building herald and herald-bench" >&2
  [[ -f build/build.ninja || -f build/Makefile ]] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build build --target herald herald-bench
fi
if [[ ! -d node_modules/socket.io || ! -d node_modules/koa ]]; then
  echo "bench: installing the peer's npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund
fi

# Each process may hold up to the hard open-file limit.
ulimit -n "$(ulimit -Hn)"

# The driver runs in its own session so that, whatever happens to it, this script can stop its
# whole process group (servers, redis, load tools) on the way out.
pid=
stop() {
  trap - INT TERM EXIT
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  # Anything left in the driver's process group.
  if [[ -n "$pid" ]]; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
}
trap 'stop; exit 130' INT TERM
trap stop EXIT

setsid node bench/run.mjs "$@" &
pid=$!
set +e
wait "$pid"
status=$?
set -e
pid_done=$pid
pid=
# The driver stops its children itself; this catches anything that outlived it.
kill -KILL -- "-$pid_done" 2>/dev/null || true
exit "$status"
