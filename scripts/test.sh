#!/usr/bin/env bash
# `make test`: every test, on SQLite, on PostgreSQL and in the browser, the management API
# fuzzed by schemathesis (beside the browser suites), and two instances behind HAProxy on
# PostgreSQL (the scale-out test). Installs what is missing, builds, starts the dev identity
# provider and a throwaway PostgreSQL, and prints the counts.
#
# The run fails when a suite has a failed test, runs no tests, crashes (a test binary ends without
# its result line, the fuzzer without its report), runs past its timeout, or has cancelled, skipped
# or todo browser tests or skipped API operations; each such problem counts as one failure and is
# named on the suite's summary line. A port it needs
# that is already in use fails the run before anything starts. Every process it starts is stopped
# on the way out, Ctrl-C and errors included.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$ROOT/scripts/procs.sh"
source "$ROOT/scripts/tally.sh"
cd "$ROOT"

IDP_PORT=4100 PG_PORT=55433 BROWSER_PORT=3100 FUZZ_PORT=3101 SCIM_PG_PORT=3102 SCIM_TARGET_PORT=4180 SSF_PEER_PORT=4195 RSYSLOG_PORT=4514 RSYSLOG_TLS_PORT=4515
SCALE_PORT=3110 SCALE_A_PORT=3111 SCALE_B_PORT=3112   # the scale-out test: HAProxy and two instances
# Per suite, generous: a suite past its limit is stopped and counts as failed. The API fuzz suite
# runs while both browser suites do, so its limit costs no time unless it hangs.
UNIT_TIMEOUT=600 INTEGRATION_TIMEOUT=1500 BROWSER_TIMEOUT=1200 FUZZ_TIMEOUT=1200 SCIM_TIMEOUT=600 SCALE_TIMEOUT=300
FUZZ_EXAMPLES=100   # per operation; `make fuzz-api` runs 1,000

# Stopped on exit: services (pids), the running suites (process groups) and PostgreSQL.
pids=() suite_pid= tail_pid= bg_pid= pg_started=
cleanup() {
  local status=$?
  trap - EXIT INT TERM HUP
  if [ -n "$suite_pid" ]; then stop_pid -g "$suite_pid"; fi
  if [ -n "$bg_pid" ]; then stop_pid -g "$bg_pid"; fi
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
require_free_port "$FUZZ_PORT" "the API fuzz tests' server"
require_free_port "$SCIM_PG_PORT" "the SCIM conformance server (PostgreSQL)"
require_free_port "$SCIM_TARGET_PORT" "the SCIM target of the provisioning tests"
require_free_port "$SSF_PEER_PORT" "the SSF test peer"
require_free_port "$RSYSLOG_PORT" "the rsyslogd of the SIEM streaming tests"
require_free_port "$RSYSLOG_TLS_PORT" "the rsyslogd of the SIEM streaming tests (TLS)"
require_free_port "$SCALE_PORT" "the scale-out test's HAProxy"
require_free_port "$SCALE_A_PORT" "the scale-out test's first instance"
require_free_port "$SCALE_B_PORT" "the scale-out test's second instance"
require_free_port "$PG_PORT" "the test PostgreSQL" "a cluster left by an earlier run: scripts/pg.sh stop $PG_PORT"
scripts/test-tally.sh
scripts/test-procs.sh
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

echo "== services: dev identity provider, SCIM target (scim2-server), SSF test peer, rsyslogd, PostgreSQL"
export IDP_PORT IDP_TEST_HOOKS=1 IDP_JWKS_FILE="$ROOT/target/test-idp-jwks.json"
export TEST_IDP_ISSUER="http://127.0.0.1:$IDP_PORT"
# The IdP is a Shared Signals transmitter of its sign-ins to the browser suites' server (each
# suite registers it, below). While that server is down (the integration suites), its pushes
# fail at once and are only logged.
export IDP_SSF_PUSH_URL="http://127.0.0.1:$BROWSER_PORT/ssf/receive" IDP_SSF_AUDIENCE="http://127.0.0.1:$BROWSER_PORT"
start_service "the dev identity provider" "$IDP_PORT" "$logs/idp.log" node end2end/idp/server.mjs
wait_ready "$TEST_IDP_ISSUER/__test/health" "${pids[-1]}" "the dev identity provider" "$logs/idp.log"
# One in-memory SCIM service provider for the provisioning-out tests, each test in its own
# tenant (a path of its own), both engines' suites at once.
export TEST_SCIM_SERVER="http://127.0.0.1:$SCIM_TARGET_PORT"
start_service "the SCIM target of the provisioning tests" "$SCIM_TARGET_PORT" "$logs/scim-target.log" \
  .venv/bin/scim2-server --port "$SCIM_TARGET_PORT" --dynamic-tenants --bearer-token gatehouse-test-scim
wait_ready "$TEST_SCIM_SERVER/health/ServiceProviderConfig" "${pids[-1]}" "the SCIM target" "$logs/scim-target.log"
# One SSF receiver and transmitter (tests/ssf/peer.py, on joserfc) for the Shared Signals tests,
# each test in its own named tenant, both engines' suites at once.
export TEST_SSF_PEER="http://127.0.0.1:$SSF_PEER_PORT"
start_service "the SSF test peer" "$SSF_PEER_PORT" "$logs/ssf-peer.log" \
  .venv/bin/python tests/ssf/peer.py --port "$SSF_PEER_PORT"
wait_ready "$TEST_SSF_PEER/health" "${pids[-1]}" "the SSF test peer" "$logs/ssf-peer.log"
# One rsyslogd (Debian's, unprivileged) receiving syslog over TCP, plain and TLS (a throwaway CA
# the tests trust through GATEHOUSE_SIEM_CA_FILE), for the SIEM streaming tests
# (tests/it/audit_sinks.rs): every message as received, one per line, in one file; each test
# finds its own by its sink's id.
rsyslog_dir="$ROOT/target/test-rsyslog"
rm -rf "$rsyslog_dir"; mkdir -p "$rsyslog_dir"
tests/siem/make-certs.sh "$rsyslog_dir/tls"
export TEST_RSYSLOG_PORT="$RSYSLOG_PORT" TEST_RSYSLOG_FILE="$rsyslog_dir/messages.log"
export TEST_RSYSLOG_TLS_PORT="$RSYSLOG_TLS_PORT" TEST_SIEM_CA_FILE="$rsyslog_dir/tls/ca.pem"
sed -e "s#@WORKDIR@#$rsyslog_dir#" -e "s#@FILE@#$TEST_RSYSLOG_FILE#" -e "s#@PORT@#$RSYSLOG_PORT#" \
  -e "s#@TLS_PORT@#$RSYSLOG_TLS_PORT#" -e "s#@TLS_DIR@#$rsyslog_dir/tls#g" \
  tests/siem/rsyslog.conf.in >"$rsyslog_dir/rsyslog.conf"
start_service "the rsyslogd of the SIEM streaming tests" "$RSYSLOG_PORT" "$logs/rsyslogd.log" \
  "$(command -v rsyslogd || echo /usr/sbin/rsyslogd)" -n -f "$rsyslog_dir/rsyslog.conf" -i "$rsyslog_dir/rsyslogd.pid"
wait_port "$RSYSLOG_PORT" "${pids[-1]}" "the rsyslogd of the SIEM streaming tests" "$logs/rsyslogd.log"
wait_port "$RSYSLOG_TLS_PORT" "${pids[-1]}" "the rsyslogd of the SIEM streaming tests (TLS)" "$logs/rsyslogd.log"
require_free_port "$PG_PORT" "the test PostgreSQL"
pg_started=1
TEST_POSTGRES_URL="$(scripts/pg.sh start "$PG_PORT")"
export TEST_POSTGRES_URL

summary=() total_passed=0 total_failed=0
record() { # name, passed, failed, note
  summary+=("$1: $2 passed, $3 failed${4:+ ($4)}")
  total_passed=$((total_passed + $2)); total_failed=$((total_failed + $3))
}
count_suite() { # name, kind, what tally reads, exit status, started at ($SECONDS), timeout
  local timed_out= passed failed note
  if [ "$4" = 124 ] || { [ "$4" = 137 ] && ((SECONDS - $5 >= $6)); }; then timed_out=$6; fi
  read -r passed failed note < <(tally "$2" "$3" "$4" "$timed_out")
  record "$1" "$passed" "$failed" "$note"
}
run_suite() { # name, cargo|node, timeout in seconds, command...
  local name=$1 kind=$2 limit=$3; shift 3
  local log="$logs/$name.log" status=0 t0=$SECONDS
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
  count_suite "$name" "$kind" "$log" "$status" "$t0" "$limit"
}
# One suite at a time may run in the background, beside the suites run_suite runs meanwhile: its
# output goes to its log only, shown when finish_background_suite has waited for it and counts it.
bg_name= bg_kind= bg_input= bg_limit= bg_t0=
start_background_suite() { # name, kind, what tally reads (its log, or a report), timeout, command...
  bg_name=$1 bg_kind=$2 bg_input=$3 bg_limit=$4 bg_t0=$SECONDS; shift 4
  echo "== $bg_name (in the background, timeout ${bg_limit}s; log in ${logs#$ROOT/}/$bg_name.log)"
  timeout --kill-after=30 "$bg_limit" "$@" >"$logs/$bg_name.log" 2>&1 &
  bg_pid=$!
}
finish_background_suite() {
  local status=0
  echo "== $bg_name (waiting for it to end, $((SECONDS - bg_t0))s after its start)"
  wait "$bg_pid" || status=$?
  bg_pid=
  cat "$logs/$bg_name.log"
  count_suite "$bg_name" "$bg_kind" "$bg_input" "$status" "$bg_t0" "$bg_limit"
}

run_suite unit cargo "$UNIT_TIMEOUT" cargo test --release --features ssr --lib
GATEHOUSE_TEST_DB=sqlite run_suite sqlite cargo "$INTEGRATION_TIMEOUT" cargo test --release --features ssr --test it
GATEHOUSE_TEST_DB=postgres run_suite postgres cargo "$INTEGRATION_TIMEOUT" cargo test --release --features ssr --test it

# Browser tests run against the release build, once per database. The key seals the SCIM
# target's token of the provisioning-out test (a test key, made here each run).
E2E_SECRETS_KEY="$(head -c 32 /dev/urandom | base64)"
browser_suite() { # name, database url
  local name=$1 db=$2 url="http://127.0.0.1:$BROWSER_PORT" log="$logs/server-$1.log"
  local config=(
    GATEHOUSE_DATABASE_URL="$db" GATEHOUSE_BIND="127.0.0.1:$BROWSER_PORT" GATEHOUSE_PUBLIC_URL="$url"
    GATEHOUSE_OIDC_ISSUER="$TEST_IDP_ISSUER" GATEHOUSE_OIDC_CLIENT_ID=gatehouse GATEHOUSE_OIDC_CLIENT_SECRET=gatehouse-dev-secret
    GATEHOUSE_ROLE_MAP="console-admins=admin,helpdesk=support,auditors=auditor"
    GATEHOUSE_SECRETS_KEY="$E2E_SECRETS_KEY" GATEHOUSE_OUTBOX_POLL_MS=50
    GATEHOUSE_SSF_SIGNING_KEY="$ROOT/tests/fixtures/ssf-test-signing-key.pem"
  )
  # The dev IdP as a transmitter, as `make run` registers it: its staff sign-ins reach this
  # server (signals.test.mjs). Its keys are read from the running IdP.
  if ! env "${config[@]}" "$bin" signals add-transmitter --name "Dev IdP" --issuer "$TEST_IDP_ISSUER" \
      --audience "$url" >"$logs/$name-transmitter.log" 2>&1; then
    cat "$logs/$name-transmitter.log" >&2
    record "$name" 0 1 "gatehouse signals add-transmitter failed, see ${logs#$ROOT/}/$name-transmitter.log"
    return
  fi
  start_service "the browser tests' server" "$BROWSER_PORT" "$log" env "${config[@]}" "$bin" serve
  local server=${pids[-1]}
  if wait_ready "$url/healthz" "$server" "the server for $name" "$log"; then
    E2E_BASE_URL="$url" E2E_IDP_URL="$TEST_IDP_ISSUER" E2E_SCIM_URL="$TEST_SCIM_SERVER" E2E_SSF_PEER="$TEST_SSF_PEER" run_suite "$name" node "$BROWSER_TIMEOUT" \
      node --test --test-concurrency=1 --test-reporter=tap end2end/tests/*.test.mjs
  else
    record "$name" 0 1 "the server did not start, see $log"
  fi
  stop_service "$server"
}

# The management API fuzzed by schemathesis (scripts/fuzz-api.sh) with a token holding every scope,
# on its own server and SQLite database, while the browser suites run. Niced: the browser tests
# keep their pace, the fuzzer has no clock to beat.
fuzz_server=
start_api_fuzz() {
  local name=api-fuzz db="sqlite://$ROOT/target/fuzz.db" url="http://127.0.0.1:$FUZZ_PORT"
  local log="$logs/server-api-fuzz.log" token
  rm -f "$ROOT/target/fuzz.db"*
  if ! token=$(GATEHOUSE_DATABASE_URL="$db" "$bin" service-account create --name fuzz \
      --owner fuzz@example.com --scopes all --days 1 2>"$logs/api-fuzz-token.log"); then
    cat "$logs/api-fuzz-token.log" >&2
    record "$name" 0 1 "no token: gatehouse service-account create failed, see ${logs#$ROOT/}/api-fuzz-token.log"
    return
  fi
  # Some people, devices and factors, so lists answer with real rows to check against the schema.
  if ! GATEHOUSE_DATABASE_URL="$db" "$bin" seed --users 200 >"$logs/api-fuzz-seed.log" 2>&1; then
    record "$name" 0 1 "gatehouse seed failed, see ${logs#$ROOT/}/api-fuzz-seed.log"
    return
  fi
  start_service "the API fuzz tests' server" "$FUZZ_PORT" "$log" nice -n 10 env \
    GATEHOUSE_DATABASE_URL="$db" GATEHOUSE_BIND="127.0.0.1:$FUZZ_PORT" GATEHOUSE_PUBLIC_URL="$url" \
    GATEHOUSE_OIDC_ISSUER="$TEST_IDP_ISSUER" GATEHOUSE_OIDC_CLIENT_ID=gatehouse GATEHOUSE_OIDC_CLIENT_SECRET=gatehouse-dev-secret \
    GATEHOUSE_ROLE_MAP="console-admins=admin,helpdesk=support,auditors=auditor" \
    GATEHOUSE_API_REQUESTS_PER_MINUTE=100000000 \
    "$bin" serve
  fuzz_server=${pids[-1]}
  if ! wait_ready "$url/healthz" "$fuzz_server" "the server for $name" "$log"; then
    record "$name" 0 1 "the server did not start, see ${log#$ROOT/}"
    stop_service "$fuzz_server"; fuzz_server=
    return
  fi
  start_background_suite "$name" junit "$logs/fuzz-api.xml" "$FUZZ_TIMEOUT" \
    nice -n 10 env FUZZ_REPORT="$logs/fuzz-api.xml" scripts/fuzz-api.sh "$url" "$token" "$FUZZ_EXAMPLES"
}
finish_api_fuzz() {
  if [ -z "$fuzz_server" ]; then return; fi   # it did not start (and is counted already)
  finish_background_suite
  stop_service "$fuzz_server"; fuzz_server=
}

# SCIM conformance (scripts/scim-check.py, scim2-tester): every check it offers for Users and
# Groups, on both engines: on SQLite against the API fuzz tests' server (one server for both), on
# PostgreSQL against a server of its own, up only for the few seconds the checks take.
scim_check() { # name, database url, server url
  local name=$1 db=$2 url=$3 token status=0 t0=$SECONDS
  local report="$logs/$name.xml"
  rm -f "$report"
  if ! token=$(GATEHOUSE_DATABASE_URL="$db" "$bin" source create \
      --id scim-conformance --name "SCIM conformance" 2>"$logs/$name-token.log"); then
    cat "$logs/$name-token.log" >&2
    record "$name" 0 1 "no token: gatehouse source create failed, see ${logs#$ROOT/}/$name-token.log"
    return
  fi
  echo "== $name (timeout ${SCIM_TIMEOUT}s)"
  timeout --kill-after=30 "$SCIM_TIMEOUT" "$ROOT/.venv/bin/python" scripts/scim-check.py "$url" "$token" "$report" \
    >"$logs/$name.log" 2>&1 || status=$?
  cat "$logs/$name.log"
  count_suite "$name" junit "$report" "$status" "$t0" "$SCIM_TIMEOUT"
}
scim_conformance() {
  if [ -z "$fuzz_server" ]; then record scim-conformance-sqlite 0 1 "no server (the API fuzz tests' server did not start)"
  else scim_check scim-conformance-sqlite "sqlite://$ROOT/target/fuzz.db" "http://127.0.0.1:$FUZZ_PORT"; fi
  local url="http://127.0.0.1:$SCIM_PG_PORT" db="${TEST_POSTGRES_URL%/postgres}/gh_scim"
  local log="$logs/server-scim-postgres.log" server
  psql -q "$TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS gh_scim" -c "CREATE DATABASE gh_scim"
  start_service "the SCIM conformance server (PostgreSQL)" "$SCIM_PG_PORT" "$log" env \
    GATEHOUSE_DATABASE_URL="$db" GATEHOUSE_BIND="127.0.0.1:$SCIM_PG_PORT" GATEHOUSE_PUBLIC_URL="$url" \
    GATEHOUSE_OIDC_ISSUER="$TEST_IDP_ISSUER" GATEHOUSE_OIDC_CLIENT_ID=gatehouse GATEHOUSE_OIDC_CLIENT_SECRET=gatehouse-dev-secret \
    GATEHOUSE_ROLE_MAP="console-admins=admin,helpdesk=support,auditors=auditor" \
    "$bin" serve
  server=${pids[-1]}
  if wait_ready "$url/healthz" "$server" "the SCIM conformance server (PostgreSQL)" "$log"; then
    scim_check scim-conformance-postgres "$db" "$url"
  else
    record scim-conformance-postgres 0 1 "the server did not start, see ${log#$ROOT/}"
  fi
  stop_service "$server"
}

# Several instances (issue 17): two servers from the one release binary on one fresh PostgreSQL
# database behind Debian's HAProxy (tests/scale/haproxy.cfg.in), with the running dev identity
# provider. tests/scale/scale.test.mjs starts, drains, restarts and stops them itself (a rolling
# restart under load); their logs and HAProxy's are in target/test-logs/scale/. PostgreSQL only:
# SQLite serves one instance.
scale_suite() {
  local name=scale-postgres db="${TEST_POSTGRES_URL%/postgres}/gh_scale" dir="$logs/scale" token
  rm -rf "$dir"; mkdir -p "$dir"
  psql -q "$TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS gh_scale" -c "CREATE DATABASE gh_scale"
  if ! token=$(GATEHOUSE_DATABASE_URL="$db" "$bin" service-account create --name scale \
      --owner scale@example.com --scopes all --days 1 2>"$dir/token.log"); then
    cat "$dir/token.log" >&2
    record "$name" 0 1 "no token: gatehouse service-account create failed, see ${dir#$ROOT/}/token.log"
    return
  fi
  SCALE_BIN="$bin" SCALE_DATABASE_URL="$db" SCALE_TOKEN="$token" SCALE_DIR="$dir" SCALE_IDP_URL="$TEST_IDP_ISSUER" \
    SCALE_PORT="$SCALE_PORT" SCALE_A_PORT="$SCALE_A_PORT" SCALE_B_PORT="$SCALE_B_PORT" \
    HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)" \
    run_suite "$name" node "$SCALE_TIMEOUT" node --test --test-concurrency=1 --test-reporter=tap tests/scale/scale.test.mjs
}

start_api_fuzz
scim_conformance
rm -f "$ROOT/target/e2e.db"*
browser_suite browser-sqlite "sqlite://$ROOT/target/e2e.db"
psql -q "$TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS gh_e2e" -c "CREATE DATABASE gh_e2e"
browser_suite browser-postgres "${TEST_POSTGRES_URL%/postgres}/gh_e2e"
# While the (niced) API fuzzer may still run: the scale-out test has the priority.
scale_suite
finish_api_fuzz

echo
echo "== summary ($(( $(date +%s) - started ))s after setup; logs in ${logs#$ROOT/})"
for line in "${summary[@]}"; do echo "  $line"; done
echo "total: $total_passed passed, $total_failed failed"
if [ "$total_failed" -ne 0 ]; then exit 1; fi
