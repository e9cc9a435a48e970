#!/usr/bin/env bash
# `make test`: every test, on SQLite, on PostgreSQL and in the browser. Installs what is missing,
# builds, starts the dev identity provider and a throwaway PostgreSQL, and prints the counts.
#
# The run fails when a suite has a failed test, runs no tests, crashes (a test binary ends without
# its result line), runs past its timeout, or has cancelled, skipped or todo browser tests; each
# such problem counts as one failure and is named on the suite's summary line. A port it needs
# that is already in use fails the run before anything starts. Every process it starts is stopped
# on the way out, Ctrl-C and errors included.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$ROOT/scripts/procs.sh"
source "$ROOT/scripts/tally.sh"
cd "$ROOT"

IDP_PORT=4100 PG_PORT=55433 BROWSER_PORT=3100
# Per suite, generous: a suite past its limit is stopped and counts as failed.
UNIT_TIMEOUT=600 INTEGRATION_TIMEOUT=1500 BROWSER_TIMEOUT=1200

# Stopped on exit: services (pids), the running suite (a process group) and PostgreSQL.
pids=() suite_pid= tail_pid= pg_started=
cleanup() {
  local status=$?
  trap - EXIT INT TERM HUP
  if [ -n "$suite_pid" ]; then stop_pid -g "$suite_pid"; fi
  if [ -n "$tail_pid" ]; then kill "$tail_pid" 2>/dev/null || true; fi
  local p
  for p in ${pids[@]+"${pids[@]}"}; do stop_pid "$p"; done
  if [ -n "$pg_started" ]; then scripts/pg.sh stop "$PG_PORT"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

require_node
require_free_port "$IDP_PORT" "the dev identity provider"
require_free_port "$BROWSER_PORT" "the browser tests' server"
require_free_port "$PG_PORT" "the test PostgreSQL" "a cluster left by an earlier run: scripts/pg.sh stop $PG_PORT"
scripts/test-tally.sh
scripts/setup.sh

started=$(date +%s)
logs="$ROOT/target/test-logs"; mkdir -p "$logs"

echo "== lint"
cargo fmt --check
cargo clippy --release --features ssr --all-targets -- -D warnings
cargo clippy --release --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings

echo "== build (server, wasm, css, test binaries)"
cargo leptos build --release
# The browser tests run this copy: nothing built later (here or in another clone sharing the
# build directory) can change the binary under test.
bin="$ROOT/target/test-bin/gatehouse"
mkdir -p "${bin%/*}"; cp "$GATEHOUSE_BIN" "$bin"
# Compiled here, so the suites' timeouts measure the tests, not the compiler.
cargo test --release --features ssr --lib --test it --no-run

start_service() { # what, port, log, command...: started in the background, stopped by cleanup
  local what=$1 port=$2 log=$3; shift 3
  require_free_port "$port" "$what"
  "$@" >"$log" 2>&1 &
  pids+=($!)
}
stop_service() { # pid
  stop_pid "$1"
  local kept=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  pids=(${kept[@]+"${kept[@]}"})
}

echo "== services: dev identity provider, PostgreSQL"
export IDP_PORT IDP_TEST_HOOKS=1 IDP_JWKS_FILE="$ROOT/target/test-idp-jwks.json"
export TEST_IDP_ISSUER="http://127.0.0.1:$IDP_PORT"
start_service "the dev identity provider" "$IDP_PORT" "$logs/idp.log" node end2end/idp/server.mjs
wait_ready "$TEST_IDP_ISSUER/__test/health" "${pids[-1]}" "the dev identity provider" "$logs/idp.log"
require_free_port "$PG_PORT" "the test PostgreSQL"
pg_started=1
TEST_POSTGRES_URL="$(scripts/pg.sh start "$PG_PORT")"
export TEST_POSTGRES_URL

summary=() total_passed=0 total_failed=0
record() { # name, passed, failed, note
  summary+=("$1: $2 passed, $3 failed${4:+ ($4)}")
  total_passed=$((total_passed + $2)); total_failed=$((total_failed + $3))
}
run_suite() { # name, cargo|node, timeout in seconds, command...
  local name=$1 kind=$2 limit=$3; shift 3
  local log="$logs/$name.log" status=0 t0=$SECONDS timed_out= passed failed note
  echo "== $name (timeout ${limit}s)"
  : >"$log"
  # `timeout` puts the suite in its own process group; cleanup stops that whole group.
  timeout --kill-after=30 "$limit" "$@" >"$log" 2>&1 &
  suite_pid=$!
  tail -n +1 -f --pid="$suite_pid" "$log" &
  tail_pid=$!
  wait "$suite_pid" || status=$?
  suite_pid=
  wait "$tail_pid" || true
  tail_pid=
  if [ "$status" = 124 ] || { [ "$status" = 137 ] && ((SECONDS - t0 >= limit)); }; then timed_out=$limit; fi
  read -r passed failed note < <(tally "$kind" "$log" "$status" "$timed_out")
  record "$name" "$passed" "$failed" "$note"
}

run_suite unit cargo "$UNIT_TIMEOUT" cargo test --release --features ssr --lib
GATEHOUSE_TEST_DB=sqlite run_suite sqlite cargo "$INTEGRATION_TIMEOUT" cargo test --release --features ssr --test it
GATEHOUSE_TEST_DB=postgres run_suite postgres cargo "$INTEGRATION_TIMEOUT" cargo test --release --features ssr --test it

# Browser tests run against the release build, once per database.
browser_suite() { # name, database url
  local name=$1 db=$2 url="http://127.0.0.1:$BROWSER_PORT" log="$logs/server-$1.log"
  start_service "the browser tests' server" "$BROWSER_PORT" "$log" env \
    GATEHOUSE_DATABASE_URL="$db" GATEHOUSE_BIND="127.0.0.1:$BROWSER_PORT" GATEHOUSE_PUBLIC_URL="$url" \
    GATEHOUSE_OIDC_ISSUER="$TEST_IDP_ISSUER" GATEHOUSE_OIDC_CLIENT_ID=gatehouse GATEHOUSE_OIDC_CLIENT_SECRET=gatehouse-dev-secret \
    GATEHOUSE_ROLE_MAP="console-admins=admin,helpdesk=support,auditors=auditor" \
    "$bin" serve
  local server=${pids[-1]}
  if wait_ready "$url/healthz" "$server" "the server for $name" "$log"; then
    E2E_BASE_URL="$url" E2E_IDP_URL="$TEST_IDP_ISSUER" run_suite "$name" node "$BROWSER_TIMEOUT" \
      node --test --test-concurrency=1 --test-reporter=tap end2end/tests/*.test.mjs
  else
    record "$name" 0 1 "the server did not start, see $log"
  fi
  stop_service "$server"
}
rm -f "$ROOT/target/e2e.db"*
browser_suite browser-sqlite "sqlite://$ROOT/target/e2e.db"
psql -q "$TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS gh_e2e" -c "CREATE DATABASE gh_e2e"
browser_suite browser-postgres "${TEST_POSTGRES_URL%/postgres}/gh_e2e"

echo
echo "== summary ($(( $(date +%s) - started ))s after setup; logs in ${logs#$ROOT/})"
for line in "${summary[@]}"; do echo "  $line"; done
echo "total: $total_passed passed, $total_failed failed"
if [ "$total_failed" -ne 0 ]; then exit 1; fi
