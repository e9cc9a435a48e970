#!/usr/bin/env bash
# Shared Signals (issue 16), on SQLite and PostgreSQL: Security Event Tokens received per second
# over HTTP (verification and the change included) against GET /healthz at the same concurrency,
# then "revoke everywhere" for a person with 5 accounts, 10 provisioned applications and 3
# receivers: the act, and the time until every target is confirmed. Figures in docs/benchmarks.md.
# Usage: scripts/bench-signals.sh [tokens] [clients] [revocations]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
sets="${1:-5000}"; clients="${2:-8}"; runs="${3:-20}"
[ -x "$GATEHOUSE_BIN" ] || cargo leptos build --release
export GATEHOUSE_LOG=error
key="$ROOT/target/bench-ssf-key.pem"
[ -s "$key" ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key" 2>/dev/null
export GATEHOUSE_SSF_SIGNING_KEY="$key"
# The SCIM targets' tokens are sealed with it (a throwaway key: the database is too).
export GATEHOUSE_SECRETS_KEY="${GATEHOUSE_SECRETS_KEY:-$(openssl rand -hex 32)}"
bench=(bench signals --sets "$sets" --clients "$clients" --revocations "$runs")

echo "== SQLite"
db="$ROOT/target/bench-signals.db"
rm -f "$db"*
GATEHOUSE_DATABASE_URL="sqlite://$db" "$GATEHOUSE_BIN" "${bench[@]}"
rm -f "$db"*

echo "== PostgreSQL"
pg="$(scripts/pg.sh start 55442)"
trap 'scripts/pg.sh stop 55442' EXIT
psql -q "$pg" -c "DROP DATABASE IF EXISTS bench_signals" -c "CREATE DATABASE bench_signals"
GATEHOUSE_DATABASE_URL="${pg%/postgres}/bench_signals" "$GATEHOUSE_BIN" "${bench[@]}"
