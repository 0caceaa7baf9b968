#!/usr/bin/env bash
# Installs uWSGI with its JVM and JWSGI plugins for OpenJDK 17 from Debian packages, for forksafe-native's uWSGI
# integration tests (io.forksafe.uwsgi.UwsgiWorkersTest). Idempotent: returns at once when everything is installed;
# runs apt-get update only when a package is missing. Without root or apt-get it prints why and exits 0, and the
# tests then skip with a printed reason.
set -euo pipefail

packages=(uwsgi-core uwsgi-plugin-jvm-openjdk-17 uwsgi-plugin-jwsgi-openjdk-17)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${packages[@]}"; do
        installed "$p" || missing+=("$p")
    done
else
    echo "uwsgi.sh: dpkg-query not found (not Debian/Ubuntu); uWSGI integration tests will skip" >&2
    exit 0
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "uwsgi.sh: already installed: ${packages[*]} ($(uwsgi --version 2>/dev/null || echo '?'))"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "uwsgi.sh: need root to install ${missing[*]}; uWSGI integration tests will skip" >&2
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    # package lists missing or stale: update once, then install
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "uwsgi.sh: installed ${missing[*]} ($(uwsgi --version))"
