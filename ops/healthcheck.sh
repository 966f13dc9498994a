#!/bin/bash
# pdm-healthcheck [PATH]: exits 0 when the scorer's HTTP server on this host
# answers GET PATH (default /healthz) with status 200, 1 otherwise. It is the
# image's HEALTHCHECK, written with bash's /dev/tcp so the runtime image needs
# no curl. The port comes from PDM_HTTP (ADDR:PORT, as pdm-scorer reads it);
# a wildcard address is checked on loopback. With HTTPS (PDM_HTTP_TLS_CERT
# set) bash cannot speak TLS: the check is then only that the port accepts a
# connection.
set -u
path=${1:-/healthz}
http=${PDM_HTTP:-0.0.0.0:8000}
port=${http##*:}
host=${http%:*}
host=${host#[}
host=${host%]}
case $host in
  '' | 0.0.0.0 | '*') host=127.0.0.1 ;;
  ::) host=::1 ;;
esac
case $port in
  '' | *[!0-9]*) echo "pdm-healthcheck: no port in PDM_HTTP='$http'" >&2; exit 1 ;;
esac
if ! { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
  echo "pdm-healthcheck: cannot connect to $host:$port" >&2
  exit 1
fi
if [ -n "${PDM_HTTP_TLS_CERT:-}" ]; then
  exec 3<&-
  exit 0
fi
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$host" >&3
status=
IFS= read -r -t "${PDM_HEALTHCHECK_TIMEOUT:-3}" status <&3 || true
exec 3<&-
case $status in
  'HTTP/1.'[01]' 200'*) exit 0 ;;
esac
echo "pdm-healthcheck: GET $path on $host:$port: '${status%$'\r'}'" >&2
exit 1
