#!/usr/bin/env bash
# iproute2 for ArbiterRemoteStatusTest: it creates a network namespace and a veth pair (ip netns, ip link) so that a
# client on a non-loopback address reaches the arbiter's status port. Idempotent, fast when present. Creating the
# namespace also needs root (CAP_NET_ADMIN); without it the test prints why and skips.
set -euo pipefail
if command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq iproute2
else
  echo "forksafe .ci/netns.sh: ip (iproute2) is missing and apt-get is not available; install iproute2" >&2
  exit 1
fi
