#!/usr/bin/env bash
# The Prometheus text parser the arbiter's /metrics tests run on its output (ArbiterMetricsProcessTest): the
# Prometheus Python client from Debian (python3-prometheus-client), used through /usr/bin/python3. Idempotent,
# fast when present.
set -euo pipefail
if /usr/bin/python3 -c 'import prometheus_client.parser' >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-prometheus-client
else
  echo "forksafe .ci/prometheus.sh: apt-get is not available; install python3 and the prometheus_client package for /usr/bin/python3" >&2
  exit 1
fi
