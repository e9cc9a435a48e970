# Sourced by scripts/test.sh and scripts/run.sh: the processes they start, and the ports they use.

# Fails, naming the process, when something already listens on PORT (WHAT needs it; HINT says how
# to free it). Checked before anything starts, so a run never talks to a left-over server.
require_free_port() { # port what [hint]
  local port=$1 what=$2 hint=${3:-} line who
  if command -v ss >/dev/null; then
    line=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n 1)
    [ -z "$line" ] && return 0
    who=$(grep -oE 'users:\(\("[^"]*",pid=[0-9]+' <<<"$line" | sed -E 's/users:\(\("([^"]*)",pid=([0-9]+)/\1 (pid \2)/' || true)
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 0
  fi
  echo "error: port $port, needed for $what, is already in use by ${who:-another process (\`ss -ltnp 'sport = :$port'\` as root names it)}." >&2
  echo "       Stop it and start again${hint:+ ($hint)}: otherwise this would talk to whatever answers there." >&2
  return 1
}

# Node.js for the dev identity provider and the browser tests (node --test --test-concurrency
# needs 20.10; playwright-core needs 20).
require_node() {
  local version major minor
  if ! version=$(node -p 'process.versions.node' 2>/dev/null); then
    echo "error: node not found; the dev identity provider and the browser tests need Node.js 20.10 or newer." >&2
    return 1
  fi
  IFS=. read -r major minor _ <<<"$version"
  if ((major < 20 || (major == 20 && minor < 10))); then
    echo "error: Node.js $version found ($(command -v node)); the browser tests need 20.10 or newer" >&2
    echo "       (node --test --test-concurrency; playwright-core needs 20). Install a newer Node.js first." >&2
    return 1
  fi
}

# True while PID runs (a zombie, exited but not yet waited for, does not count).
alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

# TERM, then KILL after 10 s. With -g, PID leads a process group (as `timeout` makes one) and the
# whole group is signalled, so children of the command stop too.
stop_pid() { # [-g] pid
  local target
  if [ "$1" = -g ]; then shift; target="-$1"; else target="$1"; fi
  local pid=$1 i
  kill -TERM -- "$target" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then echo "pid $pid did not stop within 10 s of TERM: killing it" >&2; fi
  if alive "$pid" || [ "${target:0:1}" = - ]; then kill -KILL -- "$target" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

# Waits until URL answers 2xx, at most SECONDS; fails at once when PID (which should answer)
# has exited, and shows the end of its LOG (when LOG is a file).
wait_ready() { # url pid what log [seconds]
  local url=$1 pid=$2 what=$3 log=$4 limit=${5:-30} i why
  for ((i = 0; i < limit * 10; i++)); do
    if ! alive "$pid"; then why="exited before it was ready"; break; fi
    if curl -fs -o /dev/null --max-time 2 "$url"; then return 0; fi
    sleep 0.1
  done
  why=${why:-"did not answer $url within ${limit}s"}
  if [ -f "$log" ]; then
    echo "error: $what $why; the end of $log:" >&2
    tail -n 20 "$log" >&2
  else
    echo "error: $what $why (see its output above)" >&2
  fi
  return 1
}

# Waits until something accepts TCP connections on 127.0.0.1:PORT (a service that speaks no
# HTTP), at most SECONDS; fails at once when PID has exited, showing the end of LOG.
wait_port() { # port pid what log [seconds]
  local port=$1 pid=$2 what=$3 log=$4 limit=${5:-30} i why
  for ((i = 0; i < limit * 10; i++)); do
    if ! alive "$pid"; then why="exited before it was ready"; break; fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  why=${why:-"did not accept connections on port $port within ${limit}s"}
  if [ -f "$log" ]; then
    echo "error: $what $why; the end of $log:" >&2
    tail -n 20 "$log" >&2
  else
    echo "error: $what $why (see its output above)" >&2
  fi
  return 1
}
