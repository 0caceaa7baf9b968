#!/usr/bin/env bash
# A private Docker engine for the Docker integration tests (integration-tests, io.forksafe.it.docker).
#
#   bash .ci/docker.sh          install docker.io if needed, start dockerd in the background (idempotent)
#   bash .ci/docker.sh stop     stop the dockerd this script started, by the pid in its pidfile
#   bash .ci/docker.sh status   say whether it answers
#
# The engine is private: its own socket, data root and exec root under $FORKSAFE_DOCKER_DIR
# (default /var/tmp/forksafe-docker), no iptables and no bridge (containers use --network host). It never touches a
# system-wide Docker. The data root is kept between runs, so the locally built test image is reused.
#
# Starting never fails the build: if dockerd cannot be installed or started, this prints why, writes the reason to
# $FORKSAFE_DOCKER_DIR/unavailable (the tests quote it when they skip) and exits 0.
set -uo pipefail

DIR="${FORKSAFE_DOCKER_DIR:-/var/tmp/forksafe-docker}"
SOCK="$DIR/docker.sock"
PIDFILE="$DIR/dockerd.pid"
LOG="$DIR/dockerd.log"
REASON="$DIR/unavailable"

say() { echo "docker.sh: $*"; }

answers() {
  # The engine's /_ping over the private socket; the docker CLI (from docker.io) is enough.
  DOCKER_HOST="unix://$SOCK" timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

unavailable() {
  mkdir -p "$DIR"
  echo "$*" >"$REASON"
  say "Docker engine unavailable: $*"
  say "the Docker integration tests will be skipped; the rest of the build is unaffected"
  exit 0
}

start() {
  mkdir -p "$DIR" || unavailable "cannot create $DIR"
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      unavailable "dockerd is not installed and this script is not root (apt-get install -y docker.io needs root)"
    fi
    say "installing docker.io"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq docker.io >/dev/null; }; then
      unavailable "apt-get install -y docker.io failed"
    fi
  fi
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && answers; then
    rm -f "$REASON"
    say "dockerd already running (pid $(cat "$PIDFILE")), DOCKER_HOST=unix://$SOCK"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    unavailable "dockerd needs root here (rootless Docker is not set up by this script)"
  fi
  rm -f "$SOCK" "$PIDFILE"
  # setsid: dockerd gets its own session, so it outlives this script and no terminal signal reaches it.
  setsid dockerd --iptables=false --bridge=none \
    --data-root "$DIR/data" --exec-root "$DIR/exec" \
    -H "unix://$SOCK" --pidfile "$PIDFILE" </dev/null >"$LOG" 2>&1 &
  local launched=$!
  for _ in $(seq 1 100); do            # up to 20 s; it usually answers within 1 to 2 s
    if answers; then
      rm -f "$REASON"
      say "dockerd $(DOCKER_HOST="unix://$SOCK" docker version --format '{{.Server.Version}}') running," \
          "pid $(cat "$PIDFILE" 2>/dev/null || echo "$launched"), DOCKER_HOST=unix://$SOCK (log $LOG)"
      return 0
    fi
    if ! kill -0 "$launched" 2>/dev/null; then
      break
    fi
    sleep 0.2
  done
  say "dockerd did not start; last lines of $LOG:"
  tail -n 15 "$LOG" 2>/dev/null | sed 's/^/  /'
  local last
  last=$(grep -v '^[[:space:]]*$' "$LOG" 2>/dev/null | tail -n 1 | cut -c1-300)
  if kill -0 "$launched" 2>/dev/null; then
    kill -TERM "$launched" 2>/dev/null
    unavailable "dockerd did not answer on unix://$SOCK within 20 s${last:+ (last log line: $last)}"
  fi
  unavailable "dockerd exited at start${last:+: $last}"
}

stop() {
  if [ ! -f "$PIDFILE" ]; then
    say "no pidfile $PIDFILE: nothing to stop"
    return 0
  fi
  local pid
  pid=$(cat "$PIDFILE")
  if ! kill -0 "$pid" 2>/dev/null; then
    say "dockerd (pid $pid) is not running"
    rm -f "$PIDFILE"
    return 0
  fi
  # dockerd stops its containers and its own containerd before it exits.
  kill -TERM "$pid"
  for _ in $(seq 1 100); do            # up to 20 s
    if ! kill -0 "$pid" 2>/dev/null; then
      say "dockerd (pid $pid) stopped"
      rm -f "$PIDFILE"
      return 0
    fi
    sleep 0.2
  done
  say "dockerd (pid $pid) still running after 20 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null
  rm -f "$PIDFILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status)
    if answers; then say "running, DOCKER_HOST=unix://$SOCK"; else say "not running"; fi ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
