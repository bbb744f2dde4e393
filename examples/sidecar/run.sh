#!/usr/bin/env bash
# Runs app.py behind nginx and entraguard sidecar on loopback, without root:
#   ENTRA_TENANT_ID=... ENTRA_CLIENT_ID=... ./run.sh
# then: curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/me
# For a local token, run `entraguard emulator` and point ENTRA_AUTHORITY_HOST
# at it (docs/testing.md), then `entraguard token`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
: "${ENTRA_TENANT_ID:?set ENTRA_TENANT_ID (and ENTRA_CLIENT_ID)}"
mkdir -p tmp
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
go run ../../cmd/entraguard sidecar -config rules.yaml &
python3 app.py 8000 &
PATH="$PATH:/usr/sbin" nginx -p "$PWD/tmp" -c "$PWD/nginx.conf" &
wait
