#!/usr/bin/env bash
# Provides CRIU >= 4.2 for forksafe's --preload mode (checkpoint/restore of a warmed worker JVM).
#
# Debian 12's own criu (3.17.1) fails on current kernels ("vdso: Unexpected rt vDSO area bounds"), trixie's 4.1.1
# binary needs a newer glibc and a 4.1.1 build cannot dump TCP listening sockets. So this script builds CRIU 4.2.1
# from Debian's source package (fetched with `apt-get source` from a deb-src line for sid/trixie kept in its own
# sources file; no system package is upgraded) and caches the binary.
#
# Idempotent and fast when cached. Prints the path of the criu binary on its last line of stdout.
#   CRIU_CACHE  cache directory (default /var/cache/forksafe/criu-4.2.1, or ~/.cache/forksafe/criu-4.2.1 when not root)
#   CRIU_LINK   where to link the binary (default /usr/local/sbin/criu when root); the tests also read FORKSAFE_CRIU
set -euo pipefail

CRIU_VERSION=4.2.1
if [[ $(id -u) == 0 ]]; then
  CRIU_CACHE=${CRIU_CACHE:-/var/cache/forksafe/criu-$CRIU_VERSION}
  CRIU_LINK=${CRIU_LINK:-/usr/local/sbin/criu}
else
  CRIU_CACHE=${CRIU_CACHE:-$HOME/.cache/forksafe/criu-$CRIU_VERSION}
  CRIU_LINK=${CRIU_LINK:-}
fi
BIN=$CRIU_CACHE/criu

log() { echo "criu.sh: $*" >&2; }

if [[ -x $BIN ]] && "$BIN" --version 2>/dev/null | grep -q "Version: $CRIU_VERSION"; then
  log "cached $BIN"
else
  if [[ $(id -u) != 0 ]]; then
    log "building CRIU needs root (apt-get); run as root or put a criu $CRIU_VERSION binary at $BIN"; exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  SRC_LIST=/etc/apt/sources.list.d/forksafe-criu-src.list
  if [[ ! -f $SRC_LIST ]]; then
    # Use the Debian archive this machine is already configured with (deb822 or one-line format).
    ARCHIVE=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
    if [[ -z $ARCHIVE ]]; then
      ARCHIVE=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*debian\)[[:space:]].*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
    fi
    if [[ -z $ARCHIVE ]]; then
      log "no Debian archive configured in /etc/apt: cannot fetch the criu source package"; exit 1
    fi
    printf '%s\n' "deb-src $ARCHIVE sid main" "deb-src $ARCHIVE trixie main" > "$SRC_LIST"
  fi
  # Refresh only the deb-src index (keeps the other lists as they are).
  apt-get update -qq -o Dir::Etc::sourcelist="$SRC_LIST" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
  # Build dependencies of `make criu` (the Debian build-deps minus docs and python packaging), from the host suite.
  apt-get install -y -qq --no-install-recommends build-essential dpkg-dev pkg-config python3 \
    libbsd-dev libcap-dev libgnutls28-dev libnet1-dev libnftables-dev libnl-3-dev libprotobuf-c-dev \
    libprotobuf-dev protobuf-c-compiler protobuf-compiler uuid-dev libaio-dev >/dev/null
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # Debian's source package. Some mirrors lack the small debian.tar.xz (only packaging; `make criu` does not need
  # it): then take the upstream tarball from the same source package, checked against apt's SHA-256.
  if ! ( cd "$work" && apt-get source -qq --download-only "criu=$CRIU_VERSION-1" >/dev/null 2>&1 \
         && dpkg-source -x --no-check "criu_$CRIU_VERSION-1.dsc" src >/dev/null ); then
    log "apt-get source incomplete on this mirror; using the source package's orig tarball"
    line=$(apt-get source --print-uris -qq "criu=$CRIU_VERSION-1" | grep "orig.tar")
    url=$(echo "$line" | awk '{print $1}' | tr -d "'")
    sha=$(echo "$line" | awk '{print $4}' | sed 's/^SHA256://')
    curl -fsSL -o "$work/orig.tar.xz" "$url"
    echo "$sha  $work/orig.tar.xz" | sha256sum -c --quiet -
    rm -rf "$work/src" && mkdir -p "$work/src"
    tar -xJf "$work/orig.tar.xz" -C "$work/src" --strip-components=1
  fi
  log "building criu $CRIU_VERSION in $work/src (about 1-3 min)"
  make -C "$work/src" -j"$(nproc)" criu >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }
  mkdir -p "$CRIU_CACHE"
  install -m 0755 "$work/src/criu/criu" "$BIN"
  log "built $BIN"
fi

if [[ -n $CRIU_LINK ]]; then
  ln -sf "$BIN" "$CRIU_LINK"
fi
if ! "$BIN" check >/dev/null 2>&1; then
  log "warning: '$BIN check' does not say 'Looks good' on this kernel:"; "$BIN" check >&2 || true
fi
echo "$BIN"
