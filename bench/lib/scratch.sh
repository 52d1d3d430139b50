# Sourced by bench scripts: a scratch folder ($work) and a list of background processes ($pids),
# both gone when the script exits, however it exits.
work="$(mktemp -d)"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
