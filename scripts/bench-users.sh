#!/usr/bin/env bash
# Seeds 1,000,000 users into a fresh SQLite file and a fresh PostgreSQL database, then measures
# the directory's pages over HTTP on each (p50/p95/p99). Usage: scripts/bench-users.sh [users] [requests]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
users="${1:-1000000}"; requests="${2:-300}"
[ -x "$GATEHOUSE_BIN" ] || cargo leptos build --release
export GATEHOUSE_LOG=error
# The API scenarios send more requests a minute than a token may by default.
export GATEHOUSE_API_REQUESTS_PER_MINUTE=100000000
db="$ROOT/target/bench-users.db"; rm -f "$db"*
echo "== SQLite"
GATEHOUSE_DATABASE_URL="sqlite://$db" "$GATEHOUSE_BIN" seed --users "$users"
GATEHOUSE_DATABASE_URL="sqlite://$db" "$GATEHOUSE_BIN" bench users --requests "$requests"
echo "== PostgreSQL"
pg="$(scripts/pg.sh start 55440)"
psql -q "$pg" -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
GATEHOUSE_DATABASE_URL="${pg%/postgres}/bench" "$GATEHOUSE_BIN" seed --users "$users"
# What autovacuum does to a live database within minutes of a bulk load: planner statistics and
# the visibility map (index-only scans), so the searches are timed as production would run them.
psql -q "${pg%/postgres}/bench" -c "VACUUM ANALYZE"
GATEHOUSE_DATABASE_URL="${pg%/postgres}/bench" "$GATEHOUSE_BIN" bench users --requests "$requests"
scripts/pg.sh stop 55440
