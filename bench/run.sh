#!/usr/bin/env bash
# forksafe benchmark suite: builds, runs JMH (rows 1-3), the HTTP load script (row 4), the arbiter script
# (rows 5-7 and AppCDS, when the arbiter is present; full run only) and the side-by-side anchors (rows A1-A4: gunicorn, a plain
# JVM, the arbiter's modes), then prints one table of ratios, each against a baseline measured in this run.
# All traffic goes to 127.0.0.1; every phase is bounded in count and time. gunicorn and wrk: .ci/bench-tools.sh.
#
#   bench/run.sh            # full run, about 10 minutes on 2 cores
#   bench/run.sh --quick    # shorter iterations and rounds, under 6 minutes
#   bench/run.sh --no-build # reuse the last build
#
# Results: target/bench/{jmh.json,http.txt,arbiter.txt,anchors.txt,table.md}.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
BUILD=1
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown option $a (use --quick, --no-build)" >&2; exit 2 ;;
  esac
done

START=$SECONDS
phase() { echo "== $1 (at $((SECONDS - START)) s)" >&2; }

OUT=target/bench
mkdir -p "$OUT"
rm -f "$OUT"/jmh.json "$OUT"/http.txt "$OUT"/arbiter.txt "$OUT"/anchors.txt "$OUT"/table.md

HAS_ARBITER=0
if [ -f forksafe-native/src/main/java/io/forksafe/arbiter/ArbiterMain.java ] \
   && [ -f integration-tests/src/main/java/io/forksafe/demo/JettyWorkerApp.java ]; then
  HAS_ARBITER=1
fi

if [ "$BUILD" = 1 ]; then
  echo "== build" >&2
  MODULES=forksafe-benchmarks
  [ "$HAS_ARBITER" = 1 ] && MODULES=forksafe-benchmarks,integration-tests
  mvn -B -q -pl "$MODULES" -am package -DskipTests
fi

CP="forksafe-benchmarks/target/classes:$(cat forksafe-benchmarks/target/bench-classpath.txt)"
# the demo apps' jar (not integration-tests' test-jar, which sorts first)
demo_jar() { ls integration-tests/target/integration-tests-*.jar | grep -v -- '-tests\.jar$' | head -1; }
JAVA=${JAVA:-java}

if [ "$QUICK" = 1 ]; then
  JMH_OPTS=(-f 1 -wi 1 -w 1s -i 4 -r 500ms)
  HTTP_OPTS=(--rounds 10 --seconds 0.5 --warmup 1)
  ARB_OPTS=()   # rows 5-7 and AppCDS start: full run only (A1-A4 measure start, kill, PSS and throughput)
  ANCHOR_OPTS=(--rounds 3 --load-seconds 1)
else
  JMH_OPTS=(-f 1 -wi 3 -w 1s -i 10 -r 500ms)
  HTTP_OPTS=(--rounds 20 --seconds 1 --warmup 2)
  ARB_OPTS=(--rounds 3 --load-seconds 3)
  ANCHOR_OPTS=(--rounds 5 --load-seconds 3)
fi

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
phase "JMH (rows 1-3)"
# Each figure is the median of its measurement iterations (Report reads JMH's JSON), so one iteration disturbed by
# another process on a shared machine does not decide a ratio.
timeout 900 "$JAVA" -cp "$CP" org.openjdk.jmh.Main "${JMH_OPTS[@]}" -rf json -rff "$OUT/jmh.json" \
  'io.forksafe.bench.(PublishBenchmark|SubscribeCloseBenchmark|JettyThreadBenchmark|UndertowThreadBenchmark)' \
  > "$OUT/jmh.log" 2>&1 || { tail -40 "$OUT/jmh.log" >&2; exit 1; }

phase "HTTP throughput (row 4)"
timeout 600 "$JAVA" -cp "$CP" io.forksafe.bench.HttpThroughput "${HTTP_OPTS[@]}" --connections 8 --out "$OUT/http.txt" \
  > "$OUT/http.log" 2>&1 || { tail -40 "$OUT/http.log" >&2; exit 1; }
grep -E '^http .* round ' "$OUT/http.log" >&2 || true

if [ "$HAS_ARBITER" = 1 ]; then
  if [ "$QUICK" = 1 ]; then
    echo "== rows 5-7 and AppCDS start: full run only (--quick keeps under 6 minutes; A1-A4 cover them)" >&2
  else
    phase "arbiter (rows 5-7, AppCDS)"
    # Jars only: a JDK AppCDS archive holds classes from jar files, not from directories.
    ACP="$(demo_jar):$(cat integration-tests/target/demo-classpath.txt)"
    timeout 900 "$JAVA" -cp "$CP:$ACP" io.forksafe.bench.ArbiterBench "${ARB_OPTS[@]}" --app-classpath "$ACP" \
      --out "$OUT/arbiter.txt" > "$OUT/arbiter.log" 2>&1 || { tail -40 "$OUT/arbiter.log" >&2; exit 1; }
  fi

  phase "side-by-side anchors (rows A1-A4: gunicorn, plain JVM, spawn, standby, preload, kept image)"
  # Absolute paths: gunicorn runs in bench/, and the workers must find the jars from any directory.
  AACP="$PWD/$(demo_jar):$(cat integration-tests/target/demo-classpath.txt)"
  command -v gunicorn > /dev/null || echo "== gunicorn not installed (bash .ci/bench-tools.sh): its row says n/a" >&2
  timeout 900 "$JAVA" -cp "$CP:$AACP" io.forksafe.bench.AnchorBench "${ANCHOR_OPTS[@]}" --app-classpath "$AACP" \
    --gunicorn-app bench/gunicorn_hello.py --out "$OUT/anchors.txt" > "$OUT/anchors.log" 2>&1 \
    || { tail -40 "$OUT/anchors.log" >&2; exit 1; }
  grep -E '^anchor ' "$OUT/anchors.log" >&2 || true
  # every process of the anchors stopped: gunicorn, arbiters, workers, wrk
  if pgrep -f 'gunicorn_hello|forksafe-bench-anchors' > /dev/null; then
    echo "== leftover anchor processes:" >&2; pgrep -af 'gunicorn_hello|forksafe-bench-anchors' >&2
  fi
else
  echo "== arbiter not present in this tree: rows 5-7, AppCDS and A1-A4 skipped" >&2
fi

phase "report"
echo "== total $((SECONDS - START)) s" >&2
{
  echo "forksafe benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $("$JAVA" -version 2>&1 | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  "$JAVA" -cp "$CP" io.forksafe.bench.Report "$OUT/jmh.json" "$OUT/http.txt" "$OUT/arbiter.txt" "$OUT/anchors.txt"
} | tee "$OUT/table.md"
