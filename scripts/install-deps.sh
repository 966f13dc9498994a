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
  librdkafka-dev libavro-dev libxgboost-dev libhiredis-dev libmicrohttpd-dev libcjson-dev
  libcmocka-dev nettle-dev libyaml-dev
  # servers and tools the demo and tests run for real
  redis-server kcat python3 python3-avro
  # HTTP probes in the runtime tests (scorer_readiness)
  curl
  # the deployment kit's checks (tests/runtime/ops_*): promtool, `docker-compose config`,
  # systemd-analyze (package systemd: on a machine without it, installing it
  # neither makes it the init, which is systemd-sysv, nor starts a service:
  # its scripts call systemctl only where systemd already runs as PID 1)
  prometheus docker-compose python3-yaml systemd
  # fuzzing and memory checks (tests/runtime/fuzz_*, valgrind_*): clang with
  # libFuzzer's runtime (libclang_rt.fuzzer is in libclang-rt-14-dev), valgrind
  clang libclang-rt-14-dev valgrind
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
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
echo "install-deps: done"
