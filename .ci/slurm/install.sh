#!/usr/bin/env bash
# Install the Debian packages of a one-node SLURM cluster when they are missing (root, apt).
set -euo pipefail
PACKAGES=(slurmctld slurmd slurm-client munge)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# "invoke-rc.d: policy-rc.d denied execution of start" is expected: start.sh starts the daemons.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
