#!/usr/bin/env bash
# Checks scripts/procs.sh, which keeps test runs honest: a port already in use fails the run with
# its number named (never a run against a left-over server), and stopping a suite stops every
# process it started. scripts/test.sh runs it first; it takes about a second.
set -euo pipefail
source "$(dirname "$0")/procs.sh"
bad=0
fail() { echo "procs: $*" >&2; bad=1; }

# A listener on a free port, as a left-over server would be.
fifo=$(mktemp -u); mkfifo "$fifo"
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$fifo" &
listener=$!
read -r port <"$fifo"; rm -f "$fifo"
if message=$(require_free_port "$port" "a test server" 2>&1); then
  fail "port $port is in use, yet require_free_port let the run go on"
elif [[ $message != *"port $port"*"a test server"* ]]; then
  fail "the busy-port message does not name the port and its use: $message"
fi
stop_pid "$listener"
alive "$listener" && fail "stop_pid left pid $listener running"
require_free_port "$port" "a test server" || fail "port $port is free again, yet refused"

# A suite as test.sh runs one: `timeout` leads a process group whose command has children.
timeout 60 bash -c 'sleep 60 & echo $! >"$0"; wait' "${TMPDIR:-/tmp}/procs-child.$$" &
suite=$!
for _ in $(seq 50); do [ -s "${TMPDIR:-/tmp}/procs-child.$$" ] && break; sleep 0.1; done
child=$(cat "${TMPDIR:-/tmp}/procs-child.$$"); rm -f "${TMPDIR:-/tmp}/procs-child.$$"
stop_pid -g "$suite"
alive "$suite" && fail "stop_pid -g left the suite $suite running"
alive "$child" && { fail "stop_pid -g left the suite's child $child running"; kill "$child"; }

[ "$bad" = 0 ] || exit 1
echo "procs: busy ports refused, suites stopped with their children"
