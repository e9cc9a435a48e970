#!/usr/bin/env bash
# Checks scripts/tally.sh against sample outputs of cargo test, node --test and schemathesis's JUnit
# reports (trimmed from real runs: a killed test binary, an aborted one, no tests, a timeout,
# cancelled/skipped/todo tests, a runner that found no files, a failed or errored operation, no
# report). scripts/test.sh runs it first; it takes well under a second.
set -euo pipefail
source "$(dirname "$0")/tally.sh"
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
bad=0
check() { # kind, status, timed-out-after, expected "P F NOTE"; the log on stdin
  local log="$dir/log" got
  cat >"$log"
  got=$(tally "$1" "$log" "$2" "$3")
  if [ "$got" != "$4" ]; then echo "tally: expected '$4', got '$got'" >&2; bad=1; fi
}

cargo_ok='     Running unittests src/lib.rs (target/release/deps/gatehouse-a668bda77972cc51)

running 2 tests
test a ... ok
test b ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s
'
check cargo 0 "" "2 0 " <<<"$cargo_ok"

check cargo 101 "" "5 1 " <<'EOF'
     Running unittests src/lib.rs (target/release/deps/gatehouse-a668bda77972cc51)
test tests::c ... FAILED
test result: FAILED. 5 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s

error: test failed, to rerun pass `--lib`
EOF

check cargo 101 "" "0 1 crashed: 1 test binary ended without a result (signal: 9, SIGKILL: kill)" <<'EOF'
     Running unittests src/lib.rs (target/release/deps/gatehouse-a668bda77972cc51)

running 6 tests
test tests::a ... ok
test tests::b ... ok
error: test failed, to rerun pass `--lib`

Caused by:
  process didn't exit successfully: `target/release/deps/gatehouse-a668bda77972cc51` (signal: 9, SIGKILL: kill)
EOF

check cargo 101 "" "7 1 crashed: 1 test binary ended without a result (signal: 6, SIGABRT: process abort signal)" <<'EOF'
     Running unittests src/lib.rs (target/debug/deps/tallysample-a668bda77972cc51)
test result: ok. 6 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s
     Running tests/crash.rs (target/debug/deps/crash-363824c0859350bb)
error: test failed, to rerun pass `--test crash`
Caused by:
  process didn't exit successfully: `target/debug/deps/crash-363824c0859350bb` (signal: 6, SIGABRT: process abort signal)
     Running tests/it.rs (target/debug/deps/it-0aaff54efcd82054)
test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
EOF

check cargo 0 "" "0 1 no tests ran" <<'EOF'
     Running tests/it/main.rs (target/release/deps/it-0aaff54efcd82054)

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
EOF

check cargo 101 "" "0 1 no tests ran; exit status 101" <<'EOF'
error[E0308]: mismatched types
error: could not compile `gatehouse` (lib test) due to 1 previous error
EOF

check cargo 124 600 "0 1 timed out after 600s" <<'EOF'
     Running unittests src/lib.rs (target/release/deps/gatehouse-a668bda77972cc51)

running 6 tests
test tests::f has been running for over 60 seconds
EOF

check cargo 101 "" "2 1 exit status 101" <<<"$cargo_ok"

# With CARGO_TERM_COLOR=always.
check cargo 101 "" "0 1 crashed: 1 test binary ended without a result (signal: 11, SIGSEGV: invalid memory reference)" < <(
  printf '\033[1m\033[92m     Running\033[0m tests/it/main.rs (target/release/deps/it-0aaff54efcd82054)\n'
  printf '\033[1m\033[91merror\033[0m: test failed, to rerun pass `--test it`\n\nCaused by:\n'
  printf "  process didn't exit successfully: \`target/release/deps/it-0aaff54efcd82054\` (signal: 11, SIGSEGV: invalid memory reference)\n")
check cargo 0 "" "3 0 " < <(printf '\033[1m\033[92m     Running\033[0m unittests src/lib.rs (x)\ntest result: \033[32mok\033[0m. 3 passed; 0 failed; 0 ignored\n')

tap_summary() { # tests pass fail cancelled skipped todo
  printf '1..%s\n# tests %s\n# suites 0\n# pass %s\n# fail %s\n# cancelled %s\n# skipped %s\n# todo %s\n# duration_ms 12.5\n' \
    "$1" "$1" "$2" "$3" "$4" "$5" "$6"
}
check node 0 "" "2 0 " < <(printf 'TAP version 13\nok 1 - one\nok 2 - two\n'; tap_summary 2 2 0 0 0 0)
check node 1 "" "3 1 " < <(printf 'TAP version 13\nnot ok 4 - bad\n'; tap_summary 4 3 1 0 0 0)
check node 0 "" "1 3 2 skipped; 1 todo" < <(printf 'ok 2 - skipped # SKIP no browser\nok 3 - later # TODO\n'; tap_summary 4 1 0 0 2 1)
check node 1 "" "1 2 2 cancelled" < <(printf "not ok 1 - parent\n  ---\n  error: 'test timed out after 300ms'\n"; tap_summary 3 1 0 2 0 0)
# A test printing a fake summary before the real one: the last of each line counts.
check node 1 "" "1 1 " < <(printf '# pass 99\n# fail 0\n'; tap_summary 2 1 1 0 0 0)
check node 0 "" "0 1 no tests ran" < <(printf 'TAP version 13\n'; tap_summary 0 0 0 0 0 0)
check node 1 "" "0 1 crashed: no summary from the test runner (exit status 1)" <<<"Could not find 'end2end/tests/'"
check node 124 1200 "0 1 timed out after 1200s" <<<"TAP version 13"

# JUnit XML as schemathesis 4 writes it (scripts/fuzz-api.sh): one test case per operation.
junit() { # test cases...
  printf '<?xml version="1.0" encoding="utf-8"?>\n<testsuites errors="0" failures="0" skipped="0" tests="%s" time="1.0">\n' $#
  printf '  <testsuite name="schemathesis" hostname="ci" tests="%s" time="1.0">\n' $#
  printf '%s\n' "$@"
  printf '  </testsuite>\n</testsuites>\n'
}
ok_case() { printf '    <testcase name="%s" time="0.205961" />' "$1"; }
failed_case='    <testcase name="POST /api/v1/users" time="3.147456">
      <failure type="failure" message="ST101, ST103">1. Test Case ID: 3AMPJj

- ST101 Server error

- ST103 Undocumented status code

    Received: 500
    Documented: 201, 400, 401, 422

[500] Internal Server Error:

    `&lt;testcase name="not a test case" /&gt;`

Reproduce with:

    curl -X POST -H &apos;Authorization: [Filtered]&apos; http://127.0.0.1:3101/api/v1/users</failure>
    </testcase>'
check junit 0 "" "3 0 " < <(junit "$(ok_case 'GET /api/v1/users')" "$(ok_case 'GET /api/v1/users/{id}')" "$(ok_case 'Stateful tests')")
check junit 1 "" "2 1 " < <(junit "$failed_case" "$(ok_case 'GET /api/v1/users')" "$(ok_case 'Stateful tests')")
check junit 1 "" "1 1 " < <(junit '    <testcase name="GET /api/v1/apps">
      <error type="error">Unresolvable reference</error>
    </testcase>' "$(ok_case 'Stateful tests')")
check junit 0 "" "1 2 2 skipped" < <(junit '    <testcase name="GET /api/v1/audit" time="0">
      <skipped type="skipped">No examples</skipped>
    </testcase>' '    <testcase
        name="a &gt; b > c" time="0.1"/>' '    <testcase name="d" time="0"><skipped/></testcase>')
# Warnings that fail the run (every answer 401, say): no failed test case, yet exit status 1.
check junit 1 "" "2 1 exit status 1" < <(junit "$(ok_case 'GET /api/v1/users')" "$(ok_case 'Stateful tests')")
check junit 0 "" "0 1 no tests ran" < <(junit)
got=$(tally junit "$dir/missing.xml" 2 "")
if [ "$got" != "0 1 crashed: no report missing.xml (exit status 2)" ]; then echo "tally: no report: got '$got'" >&2; bad=1; fi
got=$(tally junit "$dir/missing.xml" 124 900)
if [ "$got" != "0 1 timed out after 900s" ]; then echo "tally: timed out: got '$got'" >&2; bad=1; fi

if [ "$bad" != 0 ]; then echo "scripts/tally.sh does not count as expected" >&2; exit 1; fi
echo "tally: all samples counted as expected"
