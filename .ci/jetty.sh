#!/usr/bin/env bash
# Tools the forksafe-jetty and integration tests use. Idempotent and instant when already present.
#  - python3: JettyWorkerAppTest launches the worker the way the arbiter does (listening socket as fd 0).
#  - Temurin 25 (/usr/lib/jvm/temurin-25-jdk-amd64, or -Dforksafe.jdk25=<java home>): VirtualThreadsTest.
# Without them those tests are skipped with a printed reason, not failed.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
if ! command -v python3 >/dev/null; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-minimal
fi
python3 --version
if [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
  /usr/lib/jvm/temurin-25-jdk-amd64/bin/java -version 2>&1 | head -1
else
  echo "note: Temurin 25 not found at /usr/lib/jvm/temurin-25-jdk-amd64: VirtualThreadsTest will be skipped"
fi
