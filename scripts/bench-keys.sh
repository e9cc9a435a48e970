#!/usr/bin/env bash
# Key verification under load: 100,000 keys, wrk with 64 connections on loopback, valid /
# invalid / revoked keys next to the trivial /healthz handler; SQLite, then PostgreSQL.
# Usage: scripts/bench-keys.sh [keys] [seconds]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
keys="${1:-100000}"; seconds="${2:-10}"
if ! command -v wrk >/dev/null; then
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
[ -x "$GATEHOUSE_BIN" ] || cargo leptos build --release
export GATEHOUSE_LOG=error
db="$ROOT/target/bench-keys.db"; rm -f "$db"*
echo "== SQLite"
GATEHOUSE_DATABASE_URL="sqlite://$db" "$GATEHOUSE_BIN" bench keys --keys "$keys" --seconds "$seconds"
echo "== PostgreSQL"
pg="$(scripts/pg.sh start 55441)"
psql -q "$pg" -c "DROP DATABASE IF EXISTS bench_keys" -c "CREATE DATABASE bench_keys"
GATEHOUSE_DATABASE_URL="${pg%/postgres}/bench_keys" "$GATEHOUSE_BIN" bench keys --keys "$keys" --seconds "$seconds"
scripts/pg.sh stop 55441
