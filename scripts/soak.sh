#!/usr/bin/env bash
# `make soak`: the load and soak run of issue 17 (tests/scale/soak.mjs): a mixed load on loopback
# against one Gatehouse instance, then two, behind HAProxy on one throwaway PostgreSQL database,
# with the dev identity provider. SOAK_SECONDS per phase (default 600: about 25 minutes in all);
# figures go to docs/benchmarks.md by hand. Logs in target/soak/.
# Usage: scripts/soak.sh [seconds per phase]
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$ROOT/scripts/procs.sh"
cd "$ROOT"
export SOAK_SECONDS="${1:-${SOAK_SECONDS:-600}}"
IDP_PORT=4400 PG_PORT=55435 SOAK_PORT=3120 SOAK_A_PORT=3121 SOAK_B_PORT=3122
dir="$ROOT/target/soak"

require_node
[ -x "$GATEHOUSE_BIN" ] || cargo leptos build --release
for port in "$IDP_PORT" "$SOAK_PORT" "$SOAK_A_PORT" "$SOAK_B_PORT"; do require_free_port "$port" "the soak run"; done
require_free_port "$PG_PORT" "the soak run's PostgreSQL" "scripts/pg.sh stop $PG_PORT"

idp= pg_started=
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$idp" ]; then stop_pid "$idp"; fi
  if [ -n "$pg_started" ]; then scripts/pg.sh stop "$PG_PORT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$dir"; mkdir -p "$dir"
pg_started=1
pg="$(scripts/pg.sh start "$PG_PORT")"
psql -q "$pg" -c "DROP DATABASE IF EXISTS soak" -c "CREATE DATABASE soak"
db="${pg%/postgres}/soak"
IDP_PORT="$IDP_PORT" IDP_JWKS_FILE="$dir/idp-jwks.json" node end2end/idp/server.mjs >"$dir/idp.log" 2>&1 &
idp=$!
wait_ready "http://127.0.0.1:$IDP_PORT/__test/health" "$idp" "the dev identity provider" "$dir/idp.log"

token=$(GATEHOUSE_DATABASE_URL="$db" "$GATEHOUSE_BIN" service-account create --name soak \
  --owner soak@example.com --scopes all --days 1 2>"$dir/token.log")
scim_token=$(GATEHOUSE_DATABASE_URL="$db" "$GATEHOUSE_BIN" source create --id soak --name "Soak" 2>"$dir/source.log")

SCALE_BIN="$GATEHOUSE_BIN" SCALE_DATABASE_URL="$db" SCALE_TOKEN="$token" SOAK_SCIM_TOKEN="$scim_token" \
  SCALE_DIR="$dir" SCALE_IDP_URL="http://127.0.0.1:$IDP_PORT" \
  SCALE_PORT="$SOAK_PORT" SCALE_A_PORT="$SOAK_A_PORT" SCALE_B_PORT="$SOAK_B_PORT" \
  HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)" \
  node tests/scale/soak.mjs
