#!/usr/bin/env bash
# `make run`: the dev identity provider on :4000 and Gatehouse on :3000 (SQLite under data/).
# Ctrl-C stops both. A port already in use stops it before anything starts.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$ROOT/scripts/procs.sh"
cd "$ROOT"
export IDP_PORT="${IDP_PORT:-4000}"
export IDP_DEMO_PASSWORD="${IDP_DEMO_PASSWORD:-gatehouse-demo}"
export IDP_CLIENT_SECRET="${IDP_CLIENT_SECRET:-gatehouse-dev-secret}"
export GATEHOUSE_OIDC_ISSUER="${GATEHOUSE_OIDC_ISSUER:-http://127.0.0.1:$IDP_PORT}"
export GATEHOUSE_OIDC_CLIENT_ID="${GATEHOUSE_OIDC_CLIENT_ID:-gatehouse}"
export GATEHOUSE_OIDC_CLIENT_SECRET="${GATEHOUSE_OIDC_CLIENT_SECRET:-$IDP_CLIENT_SECRET}"
export GATEHOUSE_ROLE_MAP="${GATEHOUSE_ROLE_MAP:-console-admins=admin,helpdesk=support,auditors=auditor}"
export GATEHOUSE_DATABASE_URL="${GATEHOUSE_DATABASE_URL:-sqlite://data/gatehouse.db}"
bind="${GATEHOUSE_BIND:-127.0.0.1:3000}"
# A Shared Signals signing key of this machine's own, made once (data/ is not in git).
if [ -z "${GATEHOUSE_SSF_SIGNING_KEY:-}" ]; then
  mkdir -p data
  [ -s data/ssf-signing-key.pem ] || openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out data/ssf-signing-key.pem 2>/dev/null
  export GATEHOUSE_SSF_SIGNING_KEY="$ROOT/data/ssf-signing-key.pem"
fi

require_node
require_free_port "$IDP_PORT" "the dev identity provider"
require_free_port "${bind##*:}" "Gatehouse ($bind)"

idp=
trap 'if [ -n "$idp" ]; then stop_pid "$idp"; fi' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
node end2end/idp/server.mjs &
idp=$!
wait_ready "http://127.0.0.1:$IDP_PORT/__test/health" "$idp" "the dev identity provider" - 10
echo "Gatehouse: http://127.0.0.1:3000  (sign in as admin@example.com, support@example.com, auditor@example.com or nobody@example.com; password: $IDP_DEMO_PASSWORD)"
"$GATEHOUSE_BIN" serve
