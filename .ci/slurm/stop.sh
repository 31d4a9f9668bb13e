#!/usr/bin/env bash
# Stop the daemons that start.sh started, by pid file (never by name), newest first. A pid is
# only signalled while it still belongs to that daemon (/proc/<pid>/comm), never a reused one.
set -uo pipefail
STARTED=/run/slurm/started
[ -f "$STARTED" ] || exit 0
for pidfile in $(tac "$STARTED"); do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  daemon=$(basename "$pidfile" .pid)
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$daemon" ] || continue
  kill "$pid" 2>/dev/null || continue
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  echo "stopped $daemon ($pid)"
done
rm -f "$STARTED"
