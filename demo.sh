#!/usr/bin/env bash
# Builds every module (tests skipped) and runs a forksafe demo.
# Usage: ./demo.sh            the pre-fork arbiter: 2 Jetty worker JVMs share 127.0.0.1:8080, every event printed,
#                             status on http://127.0.0.1:9090/ (Ctrl-C stops it gracefully)
#        ./demo.sh arbiter-undertow   the same with Undertow workers
#        ./demo.sh arbiter-tomcat     the same with embedded Tomcat workers
#        ./demo.sh preload    the arbiter's --preload mode (root, CRIU >= 4.2: .ci/criu.sh): one Jetty template JVM
#                             checkpointed once warm and restored as 2 workers, with the reseed/ForkLocal hooks
#        ./demo.sh preload-trap   the same without the hooks: both clones serve identical "random" values
#        ./demo.sh spring     a Spring Boot 4 app (forksafe-spring-boot, Jetty, Actuator, HikariCP) as 2 arbiter workers on
#                             127.0.0.1:8080: http://127.0.0.1:8080/actuator/forksafe, /events; status on :9090
#        ./demo.sh jetty      one embedded Jetty on 127.0.0.1: its thread events and the status it serves, then exits
#        ./demo.sh undertow   one embedded Undertow on 127.0.0.1: its thread events and the status it serves, then exits
#        ./demo.sh simulate   a simulated worker life cycle (ForkSimulator) and the status JSON, then exits
set -euo pipefail
cd "$(dirname "$0")"
mvn -B -q -Dstyle.color=never -DskipTests package
CP="integration-tests/target/classes:$(cat integration-tests/target/demo-classpath.txt)"
mode="${1:-arbiter}"
[ $# -gt 0 ] && shift
case "$mode" in
  arbiter|arbiter-undertow|arbiter-tomcat)
    app=io.forksafe.demo.JettyWorkerApp
    [ "$mode" = arbiter-undertow ] && app=io.forksafe.demo.UndertowWorkerApp
    [ "$mode" = arbiter-tomcat ] && app=io.forksafe.demo.TomcatWorkerApp
    echo "forksafe demo: 2 workers on http://127.0.0.1:8080/  status: http://127.0.0.1:9090/  (Ctrl-C to stop)" >&2
    exec java -cp "$CP" io.forksafe.arbiter.ArbiterMain --workers 2 --bind 127.0.0.1:8080 --status-port 9090 \
         --print-events "$@" -- "$app" ;;
  preload|preload-trap)
    fix=--fix
    [ "$mode" = preload-trap ] && fix=
    echo "forksafe demo: 2 restored copies on http://127.0.0.1:8080/  status: http://127.0.0.1:9090/  (Ctrl-C to stop)" >&2
    exec java -cp "$CP" io.forksafe.arbiter.ArbiterMain --preload --workers 2 --bind 127.0.0.1:8080 --status-port 9090 \
         --print-events --jvm-opts "-XX:+UseSerialGC -XX:TieredStopAtLevel=1" "$@" -- io.forksafe.demo.JettyPreloadApp $fix ;;
  spring)
    SCP="integration-tests-spring-boot/target/classes:$(cat integration-tests-spring-boot/target/demo-classpath.txt)"
    echo "forksafe demo: Spring Boot, 2 workers on http://127.0.0.1:8080/  events: /events  status: /actuator/forksafe" \
         "and http://127.0.0.1:9090/  (Ctrl-C to stop)" >&2
    exec java -cp "$SCP" io.forksafe.arbiter.ArbiterMain --workers 2 --bind 127.0.0.1:8080 --status-port 9090 \
         --print-events --jvm-opts "-XX:+UseSerialGC -XX:TieredStopAtLevel=1" "$@" -- io.forksafe.demo.SpringDemoApp ;;
  jetty)    exec java -cp "$CP" io.forksafe.demo.JettyDemo "$@" ;;
  undertow) exec java -cp "$CP" io.forksafe.demo.UndertowDemo "$@" ;;
  simulate) exec java -cp "$CP" io.forksafe.demo.DemoMain "$@" ;;
  *) echo "unknown demo '$mode': use arbiter (default), arbiter-undertow, arbiter-tomcat, preload, preload-trap, spring, jetty, undertow or simulate" >&2; exit 2 ;;
esac
