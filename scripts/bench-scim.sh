#!/usr/bin/env bash
# SCIM provisioning at a million users (issue 14): on SQLite and PostgreSQL databases of
# 1,000,000 seeded users, provisions 100,000 users through POST /Users from 8 concurrent clients
# (users per second, latency of one request) and times `userName eq` look-ups against reading a
# user by id. The seeded databases of scripts/bench-users.sh are reused when they exist (they are
# copied first, so that benchmark stays repeatable), else seeded here.
# Usage: scripts/bench-scim.sh [users to provision] [clients] [requests]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
users="${1:-100000}"; clients="${2:-8}"; requests="${3:-300}"; seeded=1000000
[ -x "$GATEHOUSE_BIN" ] || cargo leptos build --release
export GATEHOUSE_LOG=error
bench=(bench scim --users "$users" --clients "$clients" --requests "$requests")

echo "== SQLite"
base="$ROOT/target/bench-users.db" db="$ROOT/target/bench-scim.db"
if [ ! -s "$base" ]; then GATEHOUSE_DATABASE_URL="sqlite://$base" "$GATEHOUSE_BIN" seed --users "$seeded"; fi
rm -f "$db"*; cp "$base" "$db"
GATEHOUSE_DATABASE_URL="sqlite://$db" "$GATEHOUSE_BIN" "${bench[@]}"
rm -f "$db"*

echo "== PostgreSQL"
pg="$(scripts/pg.sh start 55440)"
if ! psql -qAt "$pg" -c "SELECT 1 FROM pg_database WHERE datname = 'bench'" | grep -q 1; then
  psql -q "$pg" -c "CREATE DATABASE bench"
  GATEHOUSE_DATABASE_URL="${pg%/postgres}/bench" "$GATEHOUSE_BIN" seed --users "$seeded"
  psql -q "${pg%/postgres}/bench" -c "VACUUM ANALYZE"
fi
psql -q "$pg" -c "DROP DATABASE IF EXISTS bench_scim" -c "CREATE DATABASE bench_scim TEMPLATE bench"
GATEHOUSE_DATABASE_URL="${pg%/postgres}/bench_scim" "$GATEHOUSE_BIN" "${bench[@]}"
psql -q "$pg" -c "DROP DATABASE bench_scim"
scripts/pg.sh stop 55440
