#!/usr/bin/env bash
# `make test`: every test, on SQLite, on PostgreSQL and in the browser. Installs what is missing,
# builds, starts the dev identity provider and a throwaway PostgreSQL, and prints the counts.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
scripts/setup.sh

started=$(date +%s)
logs="$ROOT/target/test-logs"; mkdir -p "$logs"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; scripts/pg.sh stop 55433; }
trap cleanup EXIT

echo "== lint"
cargo fmt --check
cargo clippy --release --features ssr --all-targets -- -D warnings
cargo clippy --release --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings

echo "== build (server, wasm, css)"
cargo leptos build --release

echo "== services: dev identity provider, PostgreSQL"
export IDP_PORT=4100 IDP_TEST_HOOKS=1
export TEST_IDP_ISSUER="http://127.0.0.1:$IDP_PORT"
node end2end/idp/server.mjs >"$logs/idp.log" 2>&1 &
pids+=($!)
export TEST_POSTGRES_URL="$(scripts/pg.sh start 55433)"
for _ in $(seq 100); do curl -fs "$TEST_IDP_ISSUER/__test/health" >/dev/null && break; sleep 0.1; done

summary=()
count() { # file -> "passed failed" from cargo test or node --test output
  local f="$1"
  if grep -q '^# pass' "$f"; then
    echo "$(awk '/^# pass/ {print $3}' "$f") $(awk '/^# fail/ {print $3}' "$f")"
  else
    awk '/^test result:/ { p += $4; f += $6 } END { print p+0, f+0 }' "$f"
  fi
}
status=0
run_suite() { # name, command...
  local name="$1"; shift
  echo "== $name"
  if ! "$@" 2>&1 | tee "$logs/$name.log"; then status=1; fi
  read -r p f < <(count "$logs/$name.log")
  summary+=("$name: $p passed, $f failed")
}

run_suite unit cargo test --release --features ssr --lib
GATEHOUSE_TEST_DB=sqlite run_suite sqlite cargo test --release --features ssr --test it
GATEHOUSE_TEST_DB=postgres run_suite postgres cargo test --release --features ssr --test it
# Browser tests run against the release build, once per database.
browser_suite() { # name, database url
  local name="$1" db="$2" port=3100
  GATEHOUSE_DATABASE_URL="$db" GATEHOUSE_BIND="127.0.0.1:$port" GATEHOUSE_PUBLIC_URL="http://127.0.0.1:$port" \
  GATEHOUSE_OIDC_ISSUER="$TEST_IDP_ISSUER" GATEHOUSE_OIDC_CLIENT_ID=gatehouse GATEHOUSE_OIDC_CLIENT_SECRET=gatehouse-dev-secret \
  GATEHOUSE_ROLE_MAP="console-admins=admin,helpdesk=support,auditors=auditor" \
    "$GATEHOUSE_BIN" serve >"$logs/server-$name.log" 2>&1 &
  local server=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  E2E_BASE_URL="http://127.0.0.1:$port" E2E_IDP_URL="$TEST_IDP_ISSUER" \
    run_suite "$name" node --test --test-concurrency=1 end2end/tests/
  kill "$server"; wait "$server" 2>/dev/null || true
}
rm -f "$ROOT/target/e2e.db"*
browser_suite browser-sqlite "sqlite://$ROOT/target/e2e.db"
psql -q "$TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS gh_e2e" -c "CREATE DATABASE gh_e2e"
browser_suite browser-postgres "${TEST_POSTGRES_URL%/postgres}/gh_e2e"

echo
echo "== summary ($(( $(date +%s) - started ))s after setup)"
tp=0; tf=0
for line in "${summary[@]}"; do
  echo "  $line"
  p=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/' <<<"$line"); f=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/' <<<"$line")
  tp=$((tp + p)); tf=$((tf + f))
done
echo "total: $tp passed, $tf failed"
if [ "$tf" -ne 0 ] || [ "$status" -ne 0 ]; then exit 1; fi
