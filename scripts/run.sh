#!/usr/bin/env bash
# `make run`: the dev identity provider on :4000 and Gatehouse on :3000 (SQLite under data/).
# Ctrl-C stops both. A port already in use stops it before anything starts.
# The identity provider is also a Shared Signals transmitter registered in Gatehouse, so staff
# sign-ins and factor changes there reach Gatehouse's users of the same email (created here).
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
public_url="${GATEHOUSE_PUBLIC_URL:-http://$bind}"
idp_issuer="http://127.0.0.1:$IDP_PORT"
# The dev IdP pushes its Security Event Tokens to Gatehouse (end2end/idp/README.md).
export IDP_SSF_PUSH_URL="${IDP_SSF_PUSH_URL:-${public_url%/}/ssf/receive}"
export IDP_SSF_AUDIENCE="${IDP_SSF_AUDIENCE:-$public_url}"
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

idp= gatehouse=
trap 'if [ -n "$gatehouse" ]; then stop_pid "$gatehouse"; fi; if [ -n "$idp" ]; then stop_pid "$idp"; fi' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
node end2end/idp/server.mjs &
idp=$!
wait_ready "$idp_issuer/__test/health" "$idp" "the dev identity provider" - 10

# The IdP as a transmitter, registered once (idempotent): Gatehouse reads its keys through the
# issuer's /.well-known/ssf-configuration, so the IdP is up first.
if ! "$GATEHOUSE_BIN" signals add-transmitter --name "Dev IdP" --issuer "$idp_issuer" --audience "$public_url"; then
  echo "warning: could not register the dev IdP as a Shared Signals transmitter; its sign-ins will not reach Gatehouse" >&2
fi

"$GATEHOUSE_BIN" serve &
gatehouse=$!
wait_ready "http://$bind/healthz" "$gatehouse" "Gatehouse" - 60

# Gatehouse users with the demo staff accounts' emails, so their sign-ins at the IdP show as a
# last sign-in. The command line creates no users: a one-day management API token does.
staff_users() {
  local token body answer
  token=$("$GATEHOUSE_BIN" service-account create --name "make run" --owner admin@example.com \
    --scopes users:write --days 1 --token-name "scripts/run.sh: staff users") || return 1
  node --input-type=module -e "
    import { DEMO_ACCOUNTS } from './end2end/idp/accounts.mjs';
    for (const a of DEMO_ACCOUNTS) {
      console.log(JSON.stringify({ email: a.email, display_name: a.name, source: 'dev-idp', external_id: a.sub }));
    }" | while read -r body; do
    # 201: created; 400 "already used": there from an earlier run.
    answer=$(curl -s --max-time 10 -w '\n%{http_code}' -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' -d "$body" "http://$bind/api/v1/users")
    case "$answer" in
      *$'\n'201 | *"already used"*) ;;
      *) echo "warning: could not create the Gatehouse user $body: ${answer//$'\n'/ }" >&2 ;;
    esac
  done
}
staff_users || echo "warning: the demo staff accounts have no Gatehouse users (no API token)" >&2

echo "Gatehouse: $public_url  (sign in as admin@example.com, support@example.com, auditor@example.com or nobody@example.com; password: $IDP_DEMO_PASSWORD)"
echo "Sign-in factors at the IdP (sent to Gatehouse as Shared Signals): $idp_issuer/account/factors?email=admin@example.com"
wait "$gatehouse"
