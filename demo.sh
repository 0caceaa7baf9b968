#!/usr/bin/env bash
# Builds every module (tests skipped) and runs the forksafe demo.
# Usage: ./demo.sh            the demo (see README "Run the demo")
#        ./demo.sh jetty      the Jetty demo: a real Jetty on 127.0.0.1, its events and the status it serves
#        ./demo.sh arbiter    the pre-fork arbiter: 2 Jetty worker JVMs on 127.0.0.1:8080, status on 127.0.0.1:9090
set -euo pipefail
cd "$(dirname "$0")"
mvn -B -q -Dstyle.color=never -DskipTests package
CP="integration-tests/target/classes:$(cat integration-tests/target/demo-classpath.txt)"
if [ "${1:-}" = "jetty" ]; then
  shift
  exec java -cp "$CP" io.forksafe.demo.JettyDemo "$@"   # Jetty 12 on 127.0.0.1: events and the served status
fi
if [ "${1:-}" = "arbiter" ]; then
  shift
  # 2 worker JVMs share 127.0.0.1:8080; every event is printed; status: curl http://127.0.0.1:9090/
  exec java -cp "$CP" io.forksafe.posix.ArbiterMain --workers 2 --bind 127.0.0.1:8080 --status-port 9090 \
       --print-events "$@" -- io.forksafe.demo.JettyWorkerApp
fi
exec java -cp "$CP" io.forksafe.demo.DemoMain "$@"
