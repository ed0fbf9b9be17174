#!/usr/bin/env bash
# Gateway overhead: the simulated OpenAI provider (answering at once, on loopback) driven
# directly and through `llmgw serve` with a named model, at concurrency 1 and at fixed rates.
#
#   bash benches/overhead.sh            # writes benches/results/overhead.md
#
# Settings (environment): RATES (default "500 1000 2000 3000 4000 5000 6000 8000"),
# DURATION (seconds per run, default 10), CONNECTIONS (for fixed rates, default 32),
# SEQ_REQUESTS (concurrency-1 requests, default 5000), STREAM_REQUESTS (default 2000),
# SKIP_BUILD=1 to use an existing target/release/llmgw, OHA=path to an oha binary.
#
# The load generator is oha (https://github.com/hatoo/oha): fixed request rates (`-q`) with
# latency correction, so a stalled server cannot hide its queueing (coordinated omission).
# When it is not on PATH it is installed with `cargo install oha --locked` into
# target/bench-tools. Streaming time to first token is measured by benches/client.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh

RATES="${RATES:-500 1000 2000 3000 4000 5000 6000 8000}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
SEQ_REQUESTS="${SEQ_REQUESTS:-5000}"
STREAM_REQUESTS="${STREAM_REQUESTS:-2000}"
OUT="${OUT:-benches/results/overhead.md}"
MODEL=gpt-4o-mini
BODY="{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello in one short sentence.\"}]}"

install_oha() {
  if [ -n "${OHA:-}" ]; then return; fi
  if command -v oha > /dev/null; then OHA=$(command -v oha); return; fi
  if [ ! -x target/bench-tools/bin/oha ]; then
    echo "== cargo install oha --locked --root target/bench-tools" >&2
    cargo install oha --locked --root target/bench-tools >&2
  fi
  OHA=target/bench-tools/bin/oha
}

# oha_run NAME URL ARGS... -> JSON summary in $BENCH_DIR/NAME.json
oha_run() {
  local name=$1 url=$2
  shift 2
  "$OHA" --no-tui --output-format json -m POST -H 'content-type: application/json' \
    -H 'authorization: Bearer sk-bench' -d "$BODY" "$@" "$url" > "$BENCH_DIR/$name.json"
}

build_release
install_oha
start_sim
start_gateway
DIRECT="http://$SIM_ADDR/openai/v1/chat/completions"
THROUGH="http://$GW_ADDR/v1/chat/completions"
CMDS="$BENCH_DIR/commands.txt"
: > "$CMDS"
echo "oha --no-tui --output-format json -m POST -H 'content-type: application/json' -H 'authorization: Bearer sk-bench' -d '$BODY' <ARGS> <URL>" >> "$CMDS"

# Warm up both paths (connection pools, allocator, first-request set-up).
oha_run warm-direct "$DIRECT" -n 2000 -c 4
oha_run warm-through "$THROUGH" -n 2000 -c 4

echo "== concurrency 1" >&2
echo "concurrency 1: -n $SEQ_REQUESTS -c 1" >> "$CMDS"
oha_run seq-direct "$DIRECT" -n "$SEQ_REQUESTS" -c 1
oha_run seq-through "$THROUGH" -n "$SEQ_REQUESTS" -c 1

ran=()
for rate in $RATES; do
  echo "== $rate requests/s for $DURATION s" >&2
  oha_run "rate$rate-direct" "$DIRECT" -z "${DURATION}s" -c "$CONNECTIONS" -q "$rate" --latency-correction
  oha_run "rate$rate-through" "$THROUGH" -z "${DURATION}s" -c "$CONNECTIONS" -q "$rate" --latency-correction
  ran+=("$rate")
done
echo "fixed rates: -z ${DURATION}s -c $CONNECTIONS -q <RATE> --latency-correction" >> "$CMDS"

echo "== streaming time to first token" >&2
echo "python3 benches/client.py ttft <URL> $MODEL --n $STREAM_REQUESTS [--concurrency 8]" >> "$CMDS"
for c in 1 8; do
  python3 benches/client.py ttft "$DIRECT" "$MODEL" --n "$STREAM_REQUESTS" --concurrency "$c" > "$BENCH_DIR/ttft$c-direct.json"
  python3 benches/client.py ttft "$THROUGH" "$MODEL" --n "$STREAM_REQUESTS" --concurrency "$c" > "$BENCH_DIR/ttft$c-through.json"
done

RSS=$(awk '/VmRSS|VmHWM/ {printf "%s %s %s; ", $1, $2, $3}' "/proc/$GW_PID/status")
mkdir -p "$(dirname "$OUT")"
python3 benches/report_overhead.py "$BENCH_DIR" "${ran[*]}" "$DURATION" "$CONNECTIONS" "$RSS" \
  "$(machine_md)" "$CMDS" > "$OUT"
cat "$OUT"
