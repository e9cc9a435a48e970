#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for tests and benchmarks.
#   scripts/pg.sh start [port]   prints the admin URL
#   scripts/pg.sh stop  [port]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cmd="${1:-start}"; port="${2:-55432}"
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
dir="/tmp/gatehouse-pg-$port"
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    if ! run "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      rm -rf "$dir"; mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres "$dir"
      run "$bin/initdb" -D "$dir" -U postgres -A trust --no-sync >/dev/null
      # Durability settings off: this cluster is thrown away after the run.
      run "$bin/pg_ctl" -D "$dir" -l "$dir/log" -w start -o \
        "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=512MB" >/dev/null
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    run "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop [port]" >&2; exit 2 ;;
esac
