#!/usr/bin/env bash
# Installs everything lazycluster needs on a fresh Debian 12 machine, as root, and builds
# the workspace. Idempotent: a second run only checks and exits quickly.
#   - system packages: openssh-server and -client (the test lab's hosts and the OpenSSH
#     references of the benchmarks), iproute2 (network namespaces), python3-distributed
#     (Dask: dask-scheduler, dask-worker), python3-asyncssh (what Dask's own SSHCluster needs:
#     the benchmarks run it as the reference), procps and util-linux (ps, unshare, nsenter)
#   - pnpm at the version pinned in package.json
#   - the workspace's dependencies from the lockfile, then a build of every package
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1

packages=(openssh-server openssh-client iproute2 python3 python3-distributed python3-asyncssh procps util-linux)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing system packages: ${missing[*]}; run this script as root (or apt-get install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# sshd must not run as a system service here: the lab starts its own, one per host.
mkdir -p /run/sshd

want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$want" ]; then
  echo "setup: installing pnpm $want"
  npm install -g --silent "pnpm@$want" >/dev/null
fi

pnpm install --frozen-lockfile --reporter=silent
pnpm exec turbo run build --output-logs=errors-only
echo "setup: done"
