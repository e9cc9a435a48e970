#!/usr/bin/env bash
# Fuzzes the management API with schemathesis (from .venv, installed by scripts/setup.sh):
#   scripts/fuzz-api.sh BASE_URL TOKEN [EXAMPLES]
# Every operation of BASE_URL/api/v1/openapi.json, EXAMPLES generated test cases each (default
# 100), valid and invalid data, then the stateful phase (sequences of calls along the document's
# links), every check: no server error, responses, status codes, content types and headers as
# documented, invalid data rejected, authentication not ignored, and so on (not: valid data
# accepted, a missing required header answered 400; see the arguments below).
# TOKEN is sent as `Authorization: Bearer TOKEN`; requests go to BASE_URL's host only.
# FUZZ_SEED=N repeats a run (schemathesis prints the seed it used); FUZZ_WORKERS=N runs N
# operations at once (default 1). The JUnit report is target/test-logs/fuzz-api.xml (FUZZ_REPORT
# overrides). Exits non-zero on any failure, and on a run that tested nothing it claims to: every
# request refused for its credentials, a wrong base path, a reference it could not resolve, or
# nearly every answer being 429.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 BASE_URL TOKEN [EXAMPLES]" >&2; exit 2
fi
base=${1%/} token=$2 examples=${3:-100}
st="$ROOT/.venv/bin/st"
if [ ! -x "$st" ]; then echo "error: $st not found; run scripts/setup.sh first" >&2; exit 2; fi
report=${FUZZ_REPORT:-$ROOT/target/test-logs/fuzz-api.xml}
mkdir -p "${report%/*}"
rm -f "$report"   # a report left by an earlier run must never count for this one

# Warnings that mean the run exercised nothing fail it (schemathesis takes these from a file only).
# No state is carried over from earlier runs (schemathesis's cache would replay their requests,
# against another database), and Hypothesis's files go to target/, not to the clone's root.
config=$(mktemp --suffix=.toml)
trap 'rm -f "$config"' EXIT
cat >"$config" <<'EOF'
[warnings]
fail-on = ["missing_auth", "base_url_mismatch", "unresolvable_reference", "rate_limited"]

[cache]
enabled = false

# Every check but two (docs/decisions.md): schema-valid input the API's rules refuse with field
# messages (a unique email, a known source, an allowed status move), and a missing If-Match
# answered 428, as the API promises, rather than 400. (Set here, not with --checks on the command
# line, which would override the per-operation setting below.)
[checks]
positive_data_acceptance.enabled = false
missing_required_header.enabled = false

# A CSV upload is any text: schemathesis's "wrong type" bodies are files to the server (and the
# import job reports what is wrong with them), so they cannot be refused at the door.
[[operations]]
include-name = "POST /api/v1/jobs/user-import"
checks.negative_data_rejection.enabled = false

# The stateful phase infers links from `POST /apps` and `POST /groups` (their Location) to these
# sub-resource deletions and fills both path ids with the parent's id; the 404 for a secret or a
# member that never existed is right (docs/decisions.md). The document's own links never do this.
[[operations]]
include-name = "DELETE /api/v1/apps/{id}/secrets/{secret_id}"
checks.ensure_resource_availability.enabled = false
[[operations]]
include-name = "DELETE /api/v1/groups/{id}/members/{user_id}"
checks.ensure_resource_availability.enabled = false
EOF
export HYPOTHESIS_STORAGE_DIRECTORY="$ROOT/target/hypothesis"

args=(
  --origin "$base"                   # the document's own base path, on BASE_URL's host
  --header "Authorization: Bearer $token"
  --phases examples,coverage,fuzzing,stateful
  --mode all
  --max-examples "$examples"
  --workers "${FUZZ_WORKERS:-1}"
  --generation-database none         # nor examples kept from them: a seed repeats a run
  --request-timeout 30
  --wait-for-schema 30
  --report junit --report-junit-path "$report" --report-dir "${report%/*}"
  --no-color
)
if [ -n "${FUZZ_SEED:-}" ]; then args+=(--seed "$FUZZ_SEED"); fi
echo "fuzz-api: $base/api/v1/openapi.json, $examples examples per operation${FUZZ_SEED:+, seed $FUZZ_SEED}"
# Loopback only: no proxy from the environment may see these requests.
status=0
NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
  "$st" --config-file "$config" run "$base/api/v1/openapi.json" "${args[@]}" || status=$?
# Schemathesis skips the stateful phase, quietly, when no operation links to another.
if [ -f "$report" ] && ! grep -q '<testcase name="Stateful tests"' "$report"; then
  echo "fuzz-api: the stateful phase did not run: the document links no operation's response to another operation" >&2
  if [ "$status" = 0 ]; then status=1; fi
fi
exit "$status"
