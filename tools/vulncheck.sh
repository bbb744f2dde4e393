#!/usr/bin/env bash
# vulncheck.sh GOVULNCHECK MODULE_DIR... — run govulncheck ./... in each module dir.
#
# Called by `make vulncheck` (part of `make lint`). Outcomes:
#   - no findings                       → ok
#   - findings (govulncheck exit 3)     → fail
#   - any other error (packages do not load, bad flags, timeout, ...) → fail
#   - the vulnerability database cannot be reached → print
#       "govulncheck skipped: vulnerability database unreachable (...)"
#     and succeed, unless VULNCHECK_REQUIRED=1.
#
# Why: govulncheck v1.9.0 has no offline mode and no bundled database. It
# loads and type-checks the packages first, then downloads
# https://vuln.go.dev/index/modules.json.gz. Where that host cannot be
# reached (this project's dev machines and CI reach only package
# registries) it exits 1 after ~2s with
#   govulncheck: fetching vulnerabilities: Get "https://vuln.go.dev/index/modules.json.gz":
#   dial tcp: lookup vuln.go.dev ...: no such host
# which says nothing about our code, so it must not fail the build.
#
# Local database: `govulncheck -db file:///dir` works (v1 layout
# index/modules.json + ID/GO-*.json, or a flat directory of OSV files;
# checked with a hand-made database, where a finding exits 3 as online).
# No real database can be had here: vuln.go.dev is its publisher, Debian
# ships none, and a snapshot committed to this repository would go stale
# silently, so none is vendored. To use one someone copies in:
#   make lint VULNDB=file:///path/to/vulndb
#
# Environment:
#   VULNDB              database URL passed as -db (default: govulncheck's own, https://vuln.go.dev)
#   VULNCHECK_REQUIRED  1 → an unreachable database fails the run
#   VULNCHECK_TIMEOUT   seconds per module (default 600)
set -euo pipefail

if [ "$#" -lt 1 ]; then
	echo "usage: $0 GOVULNCHECK [MODULE_DIR...]" >&2
	exit 2
fi
bin=$1
shift
# Each module runs from its own directory: make a relative path absolute.
if [[ $bin == */* && $bin != /* ]]; then
	bin=$PWD/$bin
fi

db=${VULNDB:-https://vuln.go.dev}
args=()
if [ -n "${VULNDB:-}" ]; then
	args=(-db "$VULNDB")
fi
timeout_s=${VULNCHECK_TIMEOUT:-600}

unreachable() {
	if [ "${VULNCHECK_REQUIRED:-0}" = 1 ]; then
		echo "govulncheck FAILED: vulnerability database unreachable ($db: $1) and VULNCHECK_REQUIRED=1" >&2
		exit 1
	fi
	echo "govulncheck skipped: vulnerability database unreachable ($db: $1)"
	exit 0
}

# Preflight for the default https database: a closed network can also
# black-hole connections instead of refusing them, and govulncheck's HTTP
# client has no timeout. Skipped behind a proxy (the direct connection would
# prove nothing); the error text below is the fallback.
if [[ $db == https://* ]] && [ -z "${HTTPS_PROXY:-}${https_proxy:-}${ALL_PROXY:-}${all_proxy:-}" ]; then
	host=${db#https://}
	host=${host%%/*}
	if ! timeout 15 bash -c "exec 3<>/dev/tcp/${host%%:*}/443" 2>/dev/null; then
		unreachable "cannot connect to ${host%%:*}:443"
	fi
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
failed=()
for m in "$@"; do
	echo "==> govulncheck ($m)"
	if [ -z "$(cd "$m" && { go list -e ./... 2>/dev/null || echo error; })" ]; then
		echo "    no packages in $m, skipped"
		continue
	fi
	rc=0
	(cd "$m" && timeout "$timeout_s" "$bin" "${args[@]}" ./...) >"$out" 2>&1 || rc=$?
	case $rc in
	0)
		cat "$out"
		;;
	3)
		cat "$out"
		failed+=("$m")
		;;
	*)
		if grep -q 'fetching vulnerabilities:' "$out"; then
			unreachable "$(grep -m1 -o 'fetching vulnerabilities:.*' "$out")"
		fi
		cat "$out"
		if [ "$rc" = 124 ]; then
			echo "govulncheck timed out after ${timeout_s}s in $m" >&2
		fi
		echo "govulncheck FAILED in $m (exit $rc)" >&2
		exit 1
		;;
	esac
done

if [ "${#failed[@]}" -gt 0 ]; then
	echo "govulncheck FAILED: vulnerabilities found in: ${failed[*]}" >&2
	exit 1
fi
