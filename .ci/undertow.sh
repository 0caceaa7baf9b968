#!/usr/bin/env bash
# Tools the forksafe-undertow process tests need on a fresh CI machine (idempotent, fast when present):
# python3 plays the arbiter's socket passing in integration-tests (UndertowWorkerAppProcessTest): it binds a
# listening socket, makes it fd 0 and execs the worker JVM.
set -euo pipefail
if command -v python3 >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq python3-minimal
else
  echo "forksafe .ci/undertow.sh: python3 is missing and apt-get is not available; install python3" >&2
  exit 1
fi
