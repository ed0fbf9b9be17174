#!/usr/bin/env bash
# Where the time goes: CPU profiles (perf, software clock: works where hardware counters do
# not) of (1) the gateway serving a named model at a fixed rate and (2) the router scoring
# 128-token prompts at batch 1. Prints the top functions by share of samples.
#
#   bash benches/profile.sh            # writes benches/results/profile.md
#
# Settings: RATE (default 3000), SECS (default 10), SKIP_BUILD=1, OHA=path.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
RATE="${RATE:-3000}"
SECS="${SECS:-10}"
OUT="${OUT:-benches/results/profile.md}"
command -v perf > /dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
OHA="${OHA:-$(command -v oha || echo target/bench-tools/bin/oha)}"
[ -x "$OHA" ] || { echo "run benches/overhead.sh first (it installs oha)" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"

build_release
cargo build --release --example routing_bench >&2
start_sim
start_gateway
BODY='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one short sentence."}]}'
"$OHA" --no-tui -z "$((SECS + 4))s" -c 32 -q "$RATE" --latency-correction -m POST \
  -H 'content-type: application/json' -d "$BODY" "http://$GW_ADDR/v1/chat/completions" > /dev/null &
LOAD=$!
sleep 2
perf record -e cpu-clock -F 999 -g -o "$BENCH_DIR/gw.perf" -p "$GW_PID" -- sleep "$SECS" 2> /dev/null
wait "$LOAD"

top() { # PERF_FILE
  perf report -i "$1" --no-children --sort symbol --percent-limit 0.8 --stdio 2> /dev/null |
    grep -E '^ +[0-9.]+%' | sed -E 's/ +- +- *$//; s/ +$//' | head -40
}
by_crate() { # PERF_FILE
  perf report -i "$1" --no-children --sort dso,symbol --stdio 2> /dev/null | python3 benches/perf_by_crate.py 20
}
BENCH_RUNS=400 BENCH_CONCURRENCY=1 BENCH_SECS=1 perf record -e cpu-clock -F 999 -g \
  -o "$BENCH_DIR/router.perf" -- target/release/examples/routing_bench models/router > /dev/null 2>&1
{
  echo "### Gateway, named model at $RATE req/s (perf, cpu-clock, ${SECS} s, self time)"
  echo
  echo '```'
  top "$BENCH_DIR/gw.perf"
  echo '```'
  echo
  echo "By crate (self time summed over its functions):"
  echo
  echo '```'
  by_crate "$BENCH_DIR/gw.perf"
  echo '```'
  echo
  echo "### Router, batch 1 (routing_bench: 16/128/512-token prompts, self time)"
  echo
  echo '```'
  top "$BENCH_DIR/router.perf"
  echo '```'
  echo
  echo "By crate:"
  echo
  echo '```'
  by_crate "$BENCH_DIR/router.perf"
  echo '```'
} > "$OUT"
cat "$OUT"
