#!/bin/sh
# Builds the static entraguard binary of the emulator's container image
# into the directory $1. emulator/Dockerfile runs exactly this, and so do
# "make emulator-image-build" and emulator's TestDockerfileBuild, which
# need no Docker engine. Run from anywhere; only core/, emulator/ and
# cmd/entraguard/ are read (the Dockerfile copies nothing else).
set -eu
out=${1:?usage: build.sh OUTPUT_DIRECTORY}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/../cmd/entraguard"
GOWORK=off CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags="-s -w" -o "$out/entraguard" .
