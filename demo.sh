#!/usr/bin/env bash
# Builds every module (tests skipped) and runs the forksafe demo.
# Usage: ./demo.sh            the demo (see README "Run the demo")
set -euo pipefail
cd "$(dirname "$0")"
mvn -B -q -Dstyle.color=never -DskipTests package
CP="integration-tests/target/classes:$(cat integration-tests/target/demo-classpath.txt)"
exec java -cp "$CP" io.forksafe.demo.DemoMain "$@"
