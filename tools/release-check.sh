#!/usr/bin/env bash
# release-check.sh [VERSION] — show that the go command accepts the first tag
# planned for every module of go.work (docs/releasing.md), offline:
#   a module at DIR whose path has no major suffix  → tag DIR/VERSION (v0.MINOR.PATCH)
#   a module at DIR/vN whose path ends in /vN       → tag DIR/vN.MINOR.PATCH
# The root module (examples), bench, interop and tools are not released.
# It clones the committed HEAD into a temporary repository, creates those
# tags there, points git's https://github.com/entraguard/entraguard at that
# clone (GIT_CONFIG_GLOBAL insteadOf), and asks `go list -m PATH@VERSION` with
# GOPROXY=direct and a temporary module cache: the go command then resolves
# each version from the tags exactly as it will from GitHub, with its own
# checks (a /vN path must carry a vN version, the tag must hold that go.mod).
# A negative control (a /vN module asked for at v0) must be refused.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version=${1:-v0.1.0}
if ! [[ $version =~ ^v0\.[0-9]+\.[0-9]+$ ]]; then
	echo "release-check: VERSION must be v0.MINOR.PATCH before 1.0 (got $version)" >&2
	exit 2
fi
minor_patch=${version#v0.}
repo=github.com/entraguard/entraguard

tmp=$(mktemp -d)
cleanup() { chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
git clone -q --no-hardlinks "$PWD" "$tmp/repo"
cat >"$tmp/gitconfig" <<CFG
[url "file://$tmp/repo"]
	insteadOf = https://$repo
[safe]
	directory = *
CFG
mkdir -p "$tmp/probe"
printf 'module probe\n\ngo 1.26.0\n' >"$tmp/probe/go.mod"
golist() {
	(cd "$tmp/probe" && GIT_CONFIG_GLOBAL="$tmp/gitconfig" GIT_CONFIG_NOSYSTEM=1 GOMODCACHE="$tmp/modcache" \
		GOPROXY=direct GOSUMDB=off GONOSUMDB='*' GOPRIVATE= GOWORK=off GOFLAGS=-mod=mod GOTOOLCHAIN=local \
		go list -m "$1" 2>&1)
}

paths=() versions=() tags=()
for d in $(go work edit -json | sed -n 's/.*"DiskPath": *"\([^"]*\)".*/\1/p'); do
	d=${d#./}
	# Not released: the root (examples), bench, interop and tools modules.
	case "$d" in . | bench | interop | tools) continue ;; esac
	path=$(cd "${d:-.}" && GOWORK=off go list -m)
	if [[ $path =~ /v([2-9]|[1-9][0-9]+)$ ]]; then
		v=v${BASH_REMATCH[1]}.$minor_patch
		tag=${d%/v*}/$v
	else
		v=$version
		tag=${d:+$d/}$v
	fi
	git -C "$tmp/repo" tag "$tag"
	paths+=("$path") versions+=("$v") tags+=("$tag")
done

rc=0
for i in "${!paths[@]}"; do
	if out=$(golist "${paths[$i]}@${versions[$i]}"); then
		printf '  %-50s tag %-24s ok\n' "${paths[$i]}" "${tags[$i]}"
	else
		printf '  %-50s tag %-24s REFUSED: %s\n' "${paths[$i]}" "${tags[$i]}" "$out"
		rc=1
	fi
done
# The check has teeth: a major-suffixed module at v0 must be refused.
for i in "${!paths[@]}"; do
	[[ ${versions[$i]} == v0.* ]] && continue
	if golist "${paths[$i]}@$version" >/dev/null; then
		echo "release-check: ${paths[$i]}@$version was accepted; the check does not work" >&2
		rc=1
	fi
	break
done
if [ $rc = 0 ]; then echo "release-check: the go command accepts every planned tag of $version"; fi
exit $rc
