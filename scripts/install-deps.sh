#!/usr/bin/env bash
# Installs the Debian 12 packages pdm needs to build, test and run, skipping
# what is already installed (idempotent). Runs apt-get update only when
# something is missing. Uses sudo when not root.
#   scripts/install-deps.sh           build + run + test dependencies
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  # libraries (headers + .so)
  librdkafka-dev libavro-dev libxgboost-dev libhiredis-dev libmicrohttpd-dev libgnutls28-dev libcjson-dev
  libcmocka-dev nettle-dev libyaml-dev
  # servers and tools the demo and tests run for real
  redis-server kcat python3 python3-avro
  # HTTPS tests (tests/runtime/scorer_https.sh): certificates and a TLS client;
  # curl also for the HTTP probes of scorer_readiness
  openssl curl
  # the deployment kit's checks (tests/runtime/ops_*): promtool, `docker-compose config`,
  # systemd-analyze (package systemd: on a machine without it, installing it
  # neither makes it the init, which is systemd-sysv, nor starts a service:
  # its scripts call systemctl only where systemd already runs as PID 1)
  prometheus docker-compose python3-yaml systemd
  # fuzzing and memory checks (tests/runtime/fuzz_*, valgrind_*): clang with
  # libFuzzer's runtime (libclang_rt.fuzzer is in libclang-rt-14-dev), valgrind
  clang libclang-rt-14-dev valgrind
)
# The Kubernetes kit's offline check (tests/runtime/ops_k8s.sh): kubectl's
# kustomize and node/npm for the schema validator (tests/k8s). Only where the
# commands are missing: a machine that has them from another package (an
# upstream kubectl, nodesource's nodejs with its own npm) keeps those, since
# Debian's packages would conflict with them.
command -v kubectl >/dev/null || packages+=(kubernetes-client)
command -v npm >/dev/null || packages+=(nodejs npm)

# tests/k8s's npm packages (pinned by its package-lock.json) into
# tests/k8s/node_modules, again only when the lockfile changed since the last
# install (npm ci starts from an empty node_modules every time).
install_npm_packages() {
  local dir
  dir=$(cd "$(dirname "$0")/../tests/k8s" && pwd)
  if cmp -s "$dir/package-lock.json" "$dir/node_modules/.pdm-installed-lock" 2>/dev/null; then
    echo "install-deps: npm packages of tests/k8s present"
    return 0
  fi
  echo "install-deps: npm ci in tests/k8s"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$dir/package-lock.json" "$dir/node_modules/.pdm-installed-lock"
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  install_npm_packages
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# Debian's redis-server package would start a system-wide server on port 6379
# where an init system exists; pdm starts its own servers, so stop policy-rc.d
# from starting services during this install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  created_policy=1
fi
trap '[ $created_policy -eq 1 ] && $sudo rm -f "$policy"' EXIT
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian enables a system-wide Prometheus server with the package; pdm only
# needs promtool (and its tests start their own servers), so keep that service
# off where this script installed it on a machine that runs systemd.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
install_npm_packages
echo "install-deps: done"
