#!/usr/bin/env bash
# Start a one-node SLURM cluster (partitions `cpu` and `gpu`, one fake GPU) by hand, without
# systemd. Root only; run install.sh first. Idempotent: daemons already running are left alone.
# Every daemon this script starts is listed (by pid file) in /run/slurm/started, which stop.sh
# reads: it stops those and nothing else.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
HOST=$(hostname -s)            # NodeName and SlurmctldHost must match `hostname -s`
STARTED=/run/slurm/started

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

for f in slurm.conf gres.conf; do
  if [ -f "/etc/slurm/$f" ] && ! grep -q '^# sgrn-ci' "/etc/slurm/$f"; then
    echo "start.sh: /etc/slurm/$f exists and was not written by this script; not touching it" >&2
    exit 3
  fi
done
mkdir -p /etc/slurm /run/munge /run/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
chown munge:munge /run/munge && chmod 0755 /run/munge
for f in slurm.conf gres.conf; do
  sed "s/@HOST@/$HOST/g" "$HERE/$f.in" > "/etc/slurm/$f"
done
touch "$STARTED"

# 1. munge: authenticates the daemons and the client commands; refuses to run as root.
if ! alive /run/munge/munged.pid; then
  runuser -u munge -- /usr/sbin/munged
  echo /run/munge/munged.pid >> "$STARTED"
fi
for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done

# 2. controller and node daemon: both fork and write their pid files.
if ! alive /run/slurm/slurmctld.pid; then /usr/sbin/slurmctld; echo /run/slurm/slurmctld.pid >> "$STARTED"; fi
if ! alive /run/slurm/slurmd.pid; then /usr/sbin/slurmd; echo /run/slurm/slurmd.pid >> "$STARTED"; fi

# 3. wait for the node; a node that registered as drained or invalid is resumed.
for _ in $(seq 150); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)
  case "$state" in
    idle|mixed|allocated) sinfo -N -o '%N %P %T %c %m %G'; exit 0 ;;
    *drain*|inval*) scontrol update nodename="$HOST" state=resume 2>/dev/null || true ;;
  esac
  sleep 0.2
done
echo "start.sh: node $HOST did not become idle; see /var/log/slurm/slurmd.log" >&2
sinfo -N -o '%N %P %T %c %m %G' >&2 || true
exit 1
