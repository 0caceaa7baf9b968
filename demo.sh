#!/usr/bin/env bash
# Builds every module (tests skipped) and runs the forksafe demo.
# Usage: ./demo.sh            the demo (see README "Run the demo")
#        ./demo.sh jetty      the Jetty demo: a real Jetty on 127.0.0.1, its events and the status it serves
set -euo pipefail
cd "$(dirname "$0")"
mvn -B -q -Dstyle.color=never -DskipTests package
CP="integration-tests/target/classes:$(cat integration-tests/target/demo-classpath.txt)"
if [ "${1:-}" = "jetty" ]; then
  shift
  exec java -cp "$CP" io.forksafe.demo.JettyDemo "$@"   # Jetty 12 on 127.0.0.1: events and the served status
fi
exec java -cp "$CP" io.forksafe.demo.DemoMain "$@"
