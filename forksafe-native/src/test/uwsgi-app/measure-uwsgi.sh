#!/usr/bin/env bash
# Measures forksafe under a real uWSGI (2 workers, --jvm-class bootstrap), from real HTTP status responses:
#   - worker process start -> PostFork, PostFork -> PostWorkerInit, uWSGI version detection time (status details)
#   - SIGKILL of a worker -> its replacement serving a status that shows its own PostFork (N rounds)
#   - SIGHUP graceful reload -> both new workers serving
# Usage: forksafe-native/src/test/uwsgi-app/measure-uwsgi.sh [rounds]   (needs .ci/uwsgi.sh, curl, python3)
set -euo pipefail
cd "$(dirname "$0")/../../../.."       # repository root
rounds=${1:-5}
work=$(mktemp -d)
master=""
cleanup() {
    if [ -n "$master" ]; then
        for p in $(pgrep -P "$master" || true); do kill -9 "$p" 2>/dev/null || true; done
        kill -9 "$master" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# the reactor's classes (forksafe-core/target/classes, not a possibly stale ~/.m2 snapshot)
mvn -B -q -pl forksafe-native -am compile dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" \
    -Dmdep.includeScope=runtime >/dev/null
cd forksafe-native
cp="$PWD/target/classes:$(cat "$work/cp.txt")"
mkdir -p "$work/app/META-INF/services"
javac -d "$work/app" -cp "$cp" $(find src/test/uwsgi-app -name '*.java')
cp src/test/uwsgi-app/META-INF/services/* "$work/app/META-INF/services/"
jcp=(--jvm-classpath /usr/share/java/uwsgi.jar --jvm-classpath "$work/app")
IFS=: read -ra entries <<< "$cp"
for e in "${entries[@]}"; do jcp+=(--jvm-classpath "$e"); done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

uwsgi --plugins jvm_openjdk17,jwsgi_openjdk17 --http-socket 127.0.0.1:$port --http-socket-modifier1 8 \
      "${jcp[@]}" --jvm-opt -Dforksafe.jmx=false \
      --jvm-class io/forksafe/uwsgi/UwsgiBootstrap --jwsgi io/forksafe/uwsgi/testapp/StatusApp:application \
      --master --processes 2 >"$work/uwsgi.log" 2>&1 &
master=$!

now_ms() { date +%s%3N; }
# prints "pid slot postForkCount" of whichever worker answers, or nothing
probe() {
    curl -s -m 5 "http://127.0.0.1:$port/forksafe" | python3 -c '
import sys, json
try:
    s = json.load(sys.stdin)
except Exception:
    sys.exit(0)
ev = s["details"].get("testEvents", [])
print(s["pid"], s["details"]["uwsgi"]["workerId"], sum(1 for e in ev if e["event"] == "PostFork"),
      sum(1 for e in ev if e["event"] == "PostWorkerInit"))' 2>/dev/null || true
}
# waits until a worker other than $1 answers for slot $2; prints its pid
wait_new() {
    local old=$1 slot=$2 deadline=$(( $(now_ms) + 60000 ))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        read -r pid s pf pwi <<< "$(probe)" || true
        if [ -n "${pid:-}" ] && [ "$pid" != "$old" ] && [ "$s" = "$slot" ] && [ "$pf" = 1 ]; then echo "$pid"; return; fi
        sleep 0.02
    done
    echo "timeout" >&2; exit 1
}
details() {
    curl -s -m 5 "http://127.0.0.1:$port/forksafe" | python3 -c '
import sys, json, datetime as d
s = json.load(sys.stdin); u = s["details"]["uwsgi"]
p = lambda t: d.datetime.fromisoformat(t.replace("Z", "+00:00"))
print("worker %s pid %s: process start -> PostFork %d ms, PostFork -> PostWorkerInit %s ms, version %s via %s" % (
    u["workerId"], u["pid"], (p(u["postForkAt"]) - p(u["processStartedAt"])).total_seconds() * 1000,
    u["readyAfterMillis"], u["version"], u["versionSource"]))'
}

# wait for both workers
declare -A pids=()
deadline=$(( $(now_ms) + 60000 ))
while [ ${#pids[@]} -lt 2 ] && [ "$(now_ms)" -lt "$deadline" ]; do
    read -r pid s pf pwi <<< "$(probe)" || true
    [ -n "${pid:-}" ] && [ "${pwi:-0}" = 1 ] && pids[$s]=$pid
    sleep 0.05
done
echo "uWSGI $(uwsgi --version), workers: slot 1 pid ${pids[1]:-?}, slot 2 pid ${pids[2]:-?}"
details; details

for i in $(seq 1 "$rounds"); do
    slot=$(( (i % 2) + 1 )); old=${pids[$slot]}
    sleep 2.5   # uWSGI pauses respawns of workers that die within seconds of each other (fork-bomb guard)
    t0=$(now_ms); kill -9 "$old"
    new=$(wait_new "$old" "$slot"); t1=$(now_ms)
    pids[$slot]=$new
    echo "round $i: SIGKILL worker $slot (pid $old) -> replacement pid $new serving with its PostFork after $((t1 - t0)) ms"
done

sleep 1
t0=$(now_ms); kill -HUP "$master"
n1=$(wait_new "${pids[1]}" 1); n2=$(wait_new "${pids[2]}" 2); t1=$(now_ms)
echo "SIGHUP reload: both new workers ($n1, $n2) serving with their PostFork after $((t1 - t0)) ms"
