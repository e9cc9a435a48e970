#!/usr/bin/env bash
# `make two-instances`: Gatehouse as it runs in production, on this machine: a throwaway
# PostgreSQL, the dev identity provider on :4000, two instances on :3011 and :3012, and HAProxy in
# front on :3000 (tests/scale/haproxy.cfg.in, as the scale-out test uses it). Open
# http://127.0.0.1:3000, sign in as admin@example.com (password gatehouse-demo) and open System
# (/system): which instance answered, which one holds each background task. Then type:
#   roll a | roll b    restart one instance without failing a request (drain, SIGTERM, start, ready)
#   kill a | kill b    kill one (SIGKILL): its tasks move to the other after their lease (15 s)
#   start a | start b  start a killed one again
#   status             HAProxy's view of both
#   quit               (or Ctrl-C) stop everything; the database goes with it
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$ROOT/scripts/procs.sh"
cd "$ROOT"

PORT=3000 A_PORT=3011 B_PORT=3012 IDP_PORT="${IDP_PORT:-4000}" PG_PORT=55434
export IDP_PORT IDP_DEMO_PASSWORD="${IDP_DEMO_PASSWORD:-gatehouse-demo}"
public_url="http://127.0.0.1:$PORT" idp_issuer="http://127.0.0.1:$IDP_PORT"
dir="$ROOT/data/two-instances"
sock_dir=$(mktemp -d /tmp/gh-two-XXXXXX)
sock="$sock_dir/admin.sock"
haproxy_bin="$(command -v haproxy || echo /usr/sbin/haproxy)"

require_node
[ -x "$GATEHOUSE_BIN" ] || { echo "error: $GATEHOUSE_BIN is missing: run make two-instances (it builds first)" >&2; exit 1; }
[ -x "$haproxy_bin" ] || { echo "error: haproxy is missing: run scripts/setup.sh" >&2; exit 1; }
require_free_port "$PORT" "HAProxy"
require_free_port "$A_PORT" "Gatehouse instance a"
require_free_port "$B_PORT" "Gatehouse instance b"
require_free_port "$IDP_PORT" "the dev identity provider"
require_free_port "$PG_PORT" "the throwaway PostgreSQL" "scripts/pg.sh stop $PG_PORT"

declare -A pid=()
idp= balancer= pg_started=
cleanup() {
  trap - EXIT INT TERM
  local name
  for name in "${!pid[@]}"; do stop_pid "${pid[$name]}"; done
  if [ -n "$balancer" ]; then stop_pid "$balancer"; fi
  if [ -n "$idp" ]; then stop_pid "$idp"; fi
  if [ -n "$pg_started" ]; then scripts/pg.sh stop "$PG_PORT"; fi
  rm -rf "$sock_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$dir"
pg_started=1
db="$(scripts/pg.sh start "$PG_PORT")"
db="${db%/postgres}/gatehouse"
psql -q "${db%/gatehouse}/postgres" -c "CREATE DATABASE gatehouse" 2>/dev/null || true

node end2end/idp/server.mjs >"$dir/idp.log" 2>&1 &
idp=$!
wait_ready "$idp_issuer/__test/health" "$idp" "the dev identity provider" "$dir/idp.log"

port_of() { if [ "$1" = a ]; then echo "$A_PORT"; else echo "$B_PORT"; fi; }

start_instance() { # a|b
  local name=$1 port
  port=$(port_of "$name")
  env GATEHOUSE_DATABASE_URL="$db" GATEHOUSE_BIND="127.0.0.1:$port" GATEHOUSE_PUBLIC_URL="$public_url" \
    GATEHOUSE_OIDC_ISSUER="$idp_issuer" GATEHOUSE_OIDC_CLIENT_ID=gatehouse GATEHOUSE_OIDC_CLIENT_SECRET=gatehouse-dev-secret \
    GATEHOUSE_ROLE_MAP="console-admins=admin,helpdesk=support,auditors=auditor" \
    GATEHOUSE_INSTANCE_ID="gatehouse-$name" GATEHOUSE_TRUSTED_PROXIES=127.0.0.1/32 \
    GATEHOUSE_AUDIT_CHECKPOINT_DIR="$dir/checkpoints" GATEHOUSE_AUDIT_ARCHIVE_DIR="$dir/archive" \
    "$GATEHOUSE_BIN" serve >>"$dir/instance-$name.log" 2>&1 &
  pid[$name]=$!
  wait_ready "http://127.0.0.1:$port/readyz" "${pid[$name]}" "Gatehouse instance $name" "$dir/instance-$name.log" 60
}

# One command on HAProxy's admin socket.
admin() {
  python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2] + "\n").encode())
print(s.makefile().read(), end="")' "$sock" "$1"
}
# A server's column of `show stat`: 5 is its current sessions, 18 its status.
stat_of() { admin "show stat" | awk -F, -v s="$1" -v c="$2" '$1 == "gatehouse" && $2 == s { print $c }'; }

roll() { # a|b
  local name=$1 i
  admin "set server gatehouse/$name state drain" >/dev/null
  for ((i = 0; i < 150; i++)); do [ "$(stat_of "$name" 5)" = 0 ] && break; sleep 0.1; done
  admin "set server gatehouse/$name state maint" >/dev/null
  stop_pid "${pid[$name]}"
  start_instance "$name"
  admin "set server gatehouse/$name state ready" >/dev/null
  echo "instance $name restarted; HAProxy: $(stat_of "$name" 18)"
}

start_instance a
start_instance b
sed -e "s#@SOCKET@#$sock#" -e "s#@BIND@#127.0.0.1:$PORT#" -e "s#@A_ADDR@#127.0.0.1:$A_PORT#" \
  -e "s#@B_ADDR@#127.0.0.1:$B_PORT#" tests/scale/haproxy.cfg.in >"$dir/haproxy.cfg"
"$haproxy_bin" -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
balancer=$!
wait_ready "$public_url/readyz" "$balancer" "HAProxy" "$dir/haproxy.log"

echo "Gatehouse behind HAProxy: $public_url (instances on :$A_PORT and :$B_PORT; logs in ${dir#$ROOT/})"
echo "Sign in as admin@example.com (password $IDP_DEMO_PASSWORD) and open $public_url/system"
echo "Commands: roll a|b, kill a|b, start a|b, status, quit"
while read -r -p "> " command name; do
  case "$command ${name:-}" in
    "roll a" | "roll b") roll "$name" ;;
    "kill a" | "kill b") kill -KILL "${pid[$name]}" 2>/dev/null || true
      echo "instance $name killed: its background tasks move to the other within 15 s (see /system)" ;;
    "start a" | "start b") if alive "${pid[$name]}"; then echo "instance $name runs"; else start_instance "$name"; fi ;;
    "status ") for name in a b; do echo "$name: $(stat_of "$name" 18), $(stat_of "$name" 5) requests being served"; done ;;
    "quit " | "exit ") break ;;
    " ") ;;
    *) echo "roll a|b, kill a|b, start a|b, status, quit" ;;
  esac
done
