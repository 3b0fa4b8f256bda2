#!/usr/bin/env bash
# Docker HEALTHCHECK for the oracle node: GET the Actuator liveness group over loopback and require HTTP 200.
# Plain bash (/dev/tcp), so the image needs neither curl nor wget.
# Env: LORACLE_HEALTHCHECK_PATH (default /actuator/health/liveness); port: MANAGEMENT_SERVER_PORT, SERVER_PORT,
# ORACLE_HTTP_PORT (the packaged application.yml's placeholder for server.port), else 8080.
set -euo pipefail
port=${MANAGEMENT_SERVER_PORT:-${SERVER_PORT:-${ORACLE_HTTP_PORT:-8080}}}
path=${LORACLE_HEALTHCHECK_PATH:-/actuator/health/liveness}
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
IFS= read -r -t 4 status_line <&3
exec 3<&-
case "$status_line" in
  "HTTP/1."[01]" 200"*) exit 0 ;;
  *) echo "unhealthy: GET $path on port $port answered: ${status_line%$'\r'}" >&2; exit 1 ;;
esac
