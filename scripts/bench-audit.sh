#!/usr/bin/env bash
# The audit log at scale: appends synthetic events to a fresh SQLite file and a fresh PostgreSQL
# database, then times filtered search, a streamed export of a million events (next to the
# database's own CSV dump) and chain verification. Usage: scripts/bench-audit.sh [events] [requests]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
events="${1:-10000000}"; requests="${2:-200}"
[ -x "$GATEHOUSE_BIN" ] || cargo leptos build --release
export GATEHOUSE_LOG=error
db="$ROOT/target/bench-audit.db"; rm -f "$db"*
echo "== SQLite"
GATEHOUSE_DATABASE_URL="sqlite://$db" "$GATEHOUSE_BIN" bench audit --events "$events" --fill-only
GATEHOUSE_DATABASE_URL="sqlite://$db" "$GATEHOUSE_BIN" bench audit --events "$events" --requests "$requests"
echo "== PostgreSQL"
pg="$(scripts/pg.sh start 55441)"
psql -q "$pg" -c "DROP DATABASE IF EXISTS bench_audit" -c "CREATE DATABASE bench_audit"
GATEHOUSE_DATABASE_URL="${pg%/postgres}/bench_audit" "$GATEHOUSE_BIN" bench audit --events "$events" --fill-only
GATEHOUSE_DATABASE_URL="${pg%/postgres}/bench_audit" "$GATEHOUSE_BIN" bench audit --events "$events" --requests "$requests"
scripts/pg.sh stop 55441
