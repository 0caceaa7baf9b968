#!/usr/bin/env bash
# Debian's headless Chromium for forksafe-native's dashboard browser test (ArbiterDashboardTest drives it over the
# DevTools protocol; no driver). Idempotent, instant when present; apt-get update only when the install needs it.
# The test fails (it does not skip) without a browser, so a machine that cannot install it says why here.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium.sh: $(chromium --version 2>/dev/null || echo chromium)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium.sh: apt-get is not available: install Chromium and put it on the PATH (or set \$CHROMIUM)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; then
  $SUDO apt-get update -q # package lists missing or stale
  $SUDO apt-get install -y -q --no-install-recommends chromium
fi
echo "chromium.sh: installed $(chromium --version)"
