#!/usr/bin/env bash
# Provisioning out (issue 15), on SQLite and PostgreSQL: a group of 10,000 seeded people (one
# account each: the benchmark waits for one delivery per account) is
# assigned to an application whose SCIM target is a local receiver (time until every account
# exists, one worker; a replay of every message, two workers), then commit-to-delivery latency
# at 100 profile changes per second. Figures in docs/benchmarks.md.
# Usage: scripts/bench-outbox.sh [people] [changes per second] [seconds]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
people="${1:-10000}"; rate="${2:-100}"; seconds="${3:-20}"
[ -x "$GATEHOUSE_BIN" ] || cargo leptos build --release
export GATEHOUSE_LOG=error
bench=(bench outbox --people "$people" --rate "$rate" --seconds "$seconds")

echo "== SQLite"
db="$ROOT/target/bench-outbox.db"
rm -f "$db"*
GATEHOUSE_DATABASE_URL="sqlite://$db" "$GATEHOUSE_BIN" seed --users "$people" --guids "$people" >/dev/null
GATEHOUSE_DATABASE_URL="sqlite://$db" "$GATEHOUSE_BIN" "${bench[@]}"
rm -f "$db"*

echo "== PostgreSQL"
pg="$(scripts/pg.sh start 55442)"
trap 'scripts/pg.sh stop 55442' EXIT
psql -q "$pg" -c "DROP DATABASE IF EXISTS bench_outbox" -c "CREATE DATABASE bench_outbox"
GATEHOUSE_DATABASE_URL="${pg%/postgres}/bench_outbox" "$GATEHOUSE_BIN" seed --users "$people" --guids "$people" >/dev/null
GATEHOUSE_DATABASE_URL="${pg%/postgres}/bench_outbox" "$GATEHOUSE_BIN" "${bench[@]}"
