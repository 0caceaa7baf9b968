#!/usr/bin/env bash
# Installs Debian's headless Chromium for forksafe-native's dashboard browser test
# (io.forksafe.arbiter.ArbiterDashboardTest drives it over the DevTools protocol; no driver needed). Idempotent:
# returns at once when it is installed; runs apt-get update only when it is missing. The test fails (it does not
# skip) without a browser, so a machine that cannot install it shows the reason here and in the test.
set -euo pipefail

packages=(chromium)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "chromium.sh: dpkg-query not found (not Debian/Ubuntu): install Chromium and put it on the PATH (or set \$CHROMIUM)" >&2
    exit 1
fi

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "chromium.sh: already installed: $(chromium --version 2>/dev/null || echo chromium)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "chromium.sh: need root to install ${missing[*]} (the dashboard's browser test needs it)" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    # package lists missing or stale: update once, then install
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "chromium.sh: installed ${missing[*]} ($(chromium --version 2>/dev/null || echo '?'))"
