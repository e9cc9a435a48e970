#!/usr/bin/env bash
# `make fuzz-api`: the management API fuzzed at length by schemathesis, 1,000 examples per
# operation (scripts/fuzz-api.sh), on a server of its own (port 3102, FUZZ_PORT overrides) with a
# throwaway SQLite database and a token holding every scope. Runs the release build (`make build`).
#   scripts/fuzz-api-standalone.sh [EXAMPLES]
# FUZZ_SEED and FUZZ_WORKERS as for scripts/fuzz-api.sh. The report is
# target/test-logs/fuzz-api-standalone.xml; the server's log target/test-logs/server-fuzz-api.log.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$ROOT/scripts/procs.sh"
cd "$ROOT"
examples=${1:-1000} port=${FUZZ_PORT:-3102}
url="http://127.0.0.1:$port"
logs="$ROOT/target/test-logs"; mkdir -p "$logs"
log="$logs/server-fuzz-api.log"
if [ ! -x "$GATEHOUSE_BIN" ]; then echo "error: $GATEHOUSE_BIN is not built: run make build" >&2; exit 2; fi
require_free_port "$port" "the API fuzz server (FUZZ_PORT)"

dir=$(mktemp -d) server=
trap 'if [ -n "$server" ]; then stop_pid "$server"; fi; rm -rf "$dir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export GATEHOUSE_DATABASE_URL="sqlite://$dir/fuzz.db"
token=$("$GATEHOUSE_BIN" service-account create --name fuzz --owner fuzz@example.com --scopes all --days 1)
"$GATEHOUSE_BIN" seed --users 200 >/dev/null   # real rows for the lists to be checked against
# Nobody signs in: the identity provider only needs a valid address (discovery fails and retries
# in the background, on loopback). No rate limit may turn the fuzzing into a test of 429s.
GATEHOUSE_BIND="127.0.0.1:$port" GATEHOUSE_PUBLIC_URL="$url" \
  GATEHOUSE_OIDC_ISSUER="http://127.0.0.1:9" GATEHOUSE_OIDC_CLIENT_ID=fuzz GATEHOUSE_OIDC_CLIENT_SECRET=fuzz \
  GATEHOUSE_ROLE_MAP="fuzz=admin" GATEHOUSE_API_REQUESTS_PER_MINUTE=100000000 \
  "$GATEHOUSE_BIN" serve >"$log" 2>&1 &
server=$!
wait_ready "$url/healthz" "$server" "the API fuzz server" "$log"
FUZZ_REPORT="$logs/fuzz-api-standalone.xml" scripts/fuzz-api.sh "$url" "$token" "$examples"
