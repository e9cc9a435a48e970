#!/usr/bin/env bash
# Reads one test suite's log and says how it went. Sourced by scripts/test.sh; also runs alone:
#   scripts/tally.sh cargo|node|junit LOG STATUS [TIMED_OUT_AFTER]
# prints "PASSED FAILED NOTE". FAILED counts failed tests plus one per problem, and NOTE names the
# problems ("; "-separated, empty when there is none), so that a suite is good only when FAILED is 0:
#   - it ran no tests;
#   - cargo: a test binary ended without its "test result:" line (crashed, killed by a signal);
#   - node --test (TAP): tests cancelled, skipped or todo (each counts), or no summary at all;
#   - junit (LOG is a JUnit XML report, e.g. schemathesis's): a test case with a <failure> or an
#     <error> failed; skipped test cases (each counts), or no report at all;
#   - it was stopped by its timeout (TIMED_OUT_AFTER seconds given);
#   - it exited non-zero although nothing above explains it.
# STATUS is the suite's exit status.

tally() {
  local kind=$1 log=$2 status=$3 timed_out=${4:-}
  local passed=0 failed=0 problems=0 notes=()
  case $kind in
    cargo)
      # "     Running unittests src/lib.rs (...)" starts each test binary; a binary that finishes
      # prints "test result: ok. 12 passed; 0 failed; 0 ignored; ...".
      local binaries results
      read -r passed failed binaries results < <(awk '
        { gsub(/\033\[[0-9;]*m/, "") }   # CARGO_TERM_COLOR=always
        /^test result: / { p += $4; f += $6; r++ }
        /^ +Running .*\(.*\)$/ { n++ }
        END { print p + 0, f + 0, n + 0, r + 0 }' "$log")
      if [ -z "$timed_out" ] && ((binaries > results)); then
        local why
        why=$(grep -oE "process didn't exit successfully: .*\((signal: [^)]*|exit status: [0-9]+)\)" "$log" \
          | tail -n 1 | sed -E 's/.*\(([^()]*)\)$/\1/')
        notes+=("crashed: $((binaries - results)) test binary ended without a result${why:+ ($why)}")
        problems=$((problems + binaries - results))
      fi
      ;;
    node)
      # The TAP reporter ends with "# tests N", "# pass N", "# fail N", "# cancelled N",
      # "# skipped N", "# todo N" (the last of each counts: a test may print "# ..." lines too).
      local tests cancelled skipped todo
      read -r tests passed failed cancelled skipped todo < <(awk '
        /^# (tests|pass|fail|cancelled|skipped|todo) [0-9]+$/ { v[$2] = $3 }
        END { print ("tests" in v ? v["tests"] : "-"), v["pass"] + 0, v["fail"] + 0,
                    v["cancelled"] + 0, v["skipped"] + 0, v["todo"] + 0 }' "$log")
      if [ "$tests" = - ] && [ -z "$timed_out" ]; then
        notes+=("crashed: no summary from the test runner (exit status $status)"); problems=$((problems + 1))
      fi
      local n label
      for label in cancelled skipped todo; do
        n=${!label}
        if ((n > 0)); then notes+=("$n $label"); problems=$((problems + n)); fi
      done
      ;;
    junit)
      # One <testcase> per test: failed when it holds a <failure> or an <error>, skipped when it
      # holds a <skipped>, else passed. The report is read whole: a test case may span lines.
      local skipped=-
      if [ -f "$log" ]; then
        read -r passed failed skipped < <(awk '
          { doc = doc $0 "\n" }
          END {
            while (match(doc, /<testcase[ \t\n\/>]/)) {
              doc = substr(doc, RSTART + 9)
              match(doc, /^([^>"]|"[^"]*")*>/)   # the rest of the opening tag (quoted ">" kept)
              body = ""
              if (substr(doc, RLENGTH - 1, 1) != "/") {
                stop = index(doc, "</testcase>")
                body = stop ? substr(doc, RLENGTH + 1, stop - RLENGTH - 1) : substr(doc, RLENGTH + 1)
              }
              if (body ~ /<(failure|error)[ \t\n\/>]/) f++
              else if (body ~ /<skipped[ \t\n\/>]/) s++
              else p++
            }
            print p + 0, f + 0, s + 0
          }' "$log")
      fi
      if [ "$skipped" = - ]; then
        if [ -z "$timed_out" ]; then
          notes+=("crashed: no report ${log##*/} (exit status $status)"); problems=$((problems + 1))
        fi
      elif ((skipped > 0)); then
        notes+=("$skipped skipped"); problems=$((problems + skipped))
      fi
      ;;
    *) echo "tally: unknown kind $kind" >&2; return 2 ;;
  esac
  if [ -n "$timed_out" ]; then
    notes+=("timed out after ${timed_out}s"); problems=$((problems + 1))
  fi
  local unexplained=0
  if [ "$status" != 0 ] && ((failed + problems == 0)); then unexplained=1; fi
  if ((passed + failed == 0)) && ((problems == 0)); then
    notes+=("no tests ran"); problems=1
  fi
  if ((unexplained)); then
    notes+=("exit status $status"); problems=1
  fi
  local IFS=';'
  local note="${notes[*]}"
  echo "$passed $((failed + problems)) ${note//;/; }"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  if [ $# -lt 3 ]; then echo "usage: $0 cargo|node|junit LOG STATUS [TIMED_OUT_AFTER]" >&2; exit 2; fi
  tally "$@"
fi
