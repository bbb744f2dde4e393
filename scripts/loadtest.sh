#!/usr/bin/env bash
# Load test: requests/s of a bare vs an entraguard-protected endpoint, per
# framework (net/http, Gin, Echo, Fiber), over loopback HTTP with keep-alive
# clients. Needs only Go. Everything listens on and talks to 127.0.0.1.
#
#   scripts/loadtest.sh                  # defaults below
#   CONC=32 DURATION=5s ROUNDS=5 scripts/loadtest.sh
#   FRAMEWORKS=gin,fiber scripts/loadtest.sh
#
# The server (bench/cmd/loadserver) embeds a fake Entra authority and
# validates its tokens with the token cache on; the load generator
# (bench/cmd/loadgen) alternates bare and protected runs and reports the
# median requests/s of each and their ratio. Both stop by themselves.
set -euo pipefail

CONC="${CONC:-16}"            # concurrent keep-alive clients
DURATION="${DURATION:-3s}"    # per run
ROUNDS="${ROUNDS:-3}"         # runs per endpoint (median reported)
MAXREQ="${MAXREQ:-2000000}"   # at most this many requests per run
FRAMEWORKS="${FRAMEWORKS:-nethttp,gin,echo,echov5,fiber,fiberv3}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/entraguard-loadtest.XXXXXX")"
server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building load server and generator..."
(cd "$root/bench" && go build -o "$work/loadserver" ./cmd/loadserver && go build -o "$work/loadgen" ./cmd/loadgen)

"$work/loadserver" -info "$work/info.json" -frameworks "$FRAMEWORKS" -max 30m >"$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 200); do
	[[ -s "$work/info.json" ]] && break
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "load server exited:" >&2
		cat "$work/server.log" >&2
		exit 1
	fi
	sleep 0.05
done
if [[ ! -s "$work/info.json" ]]; then
	echo "load server did not start in 10s:" >&2
	cat "$work/server.log" >&2
	exit 1
fi
sed -E 's/^(token \([^)]*\)): (.{24}).*/\1: \2.../' "$work/server.log"

echo "go: $(go version | cut -d' ' -f3-), CPUs: $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?'), CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //' || echo '?')"
"$work/loadgen" -info "$work/info.json" -c "$CONC" -d "$DURATION" -rounds "$ROUNDS" -n "$MAXREQ"
