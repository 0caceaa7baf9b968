#!/usr/bin/env bash
# The side-by-side anchors of bench/run.sh (issue 16): Debian's gunicorn 20.1 (the fork-based worker replacement to
# compare the arbiter with) and wrk (the throughput client, pinned away from the workers with taskset).
# Idempotent; no test needs them: without them bench/run.sh says n/a in gunicorn's row and loads with its own client.
set -euo pipefail
missing=()
command -v gunicorn > /dev/null || missing+=(gunicorn)
command -v wrk > /dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q > /dev/null
  apt-get install -y -q "${missing[@]}" > /dev/null
fi
echo "bench tools: $(gunicorn --version), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
