#!/usr/bin/env bash
# Routing cost: the classifier at batch 1 (16, 128, 512-token prompts), its throughput with
# dynamic batching, and `model: "auto"` against a named model end to end through the gateway
# (simulated providers answering at once), plus the gateway's memory with the router loaded.
#
#   bash benches/routing.sh            # writes benches/results/routing.md
#
# Settings (environment): BENCH_RUNS, BENCH_SECS, BENCH_CONCURRENCY (see the example
# examples/routing_bench.rs), E2E_REQUESTS (default 500),
# ROUTER (default models/router; models/router-static for the static-table router),
# SKIP_BUILD=1 to use an existing target/release/llmgw.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh

E2E_REQUESTS="${E2E_REQUESTS:-500}"
OUT="${OUT:-benches/results/routing.md}"
mkdir -p "$(dirname "$OUT")"

build_release
echo "== cargo run --release --example routing_bench" >&2
cargo build --release --example routing_bench >&2
CLASSIFIER=$(target/release/examples/routing_bench "$ROUTER")

start_sim
start_gateway
THROUGH="http://$GW_ADDR/v1/chat/completions"
e2e() { # MODEL CONCURRENCY
  python3 benches/client.py latency "$THROUGH" "$1" --n "$E2E_REQUESTS" --concurrency "$2" --distinct
}
echo "== auto vs named, end to end" >&2
for c in 1 8; do
  e2e gpt-4o-mini "$c" > "$BENCH_DIR/named$c.json"
  e2e auto "$c" > "$BENCH_DIR/auto$c.json"
done
MEM=$(awk '/VmRSS|VmHWM/ {printf "%s %s %s; ", $1, $2, $3}' "/proc/$GW_PID/status")

{
  echo "### Machine"
  echo
  machine_md
  echo
  echo "### Commands"
  echo
  echo '```'
  echo "ROUTER=$ROUTER bash benches/routing.sh"
  echo "target/release/examples/routing_bench $ROUTER   # BENCH_RUNS=${BENCH_RUNS:-300} BENCH_SECS=${BENCH_SECS:-5}"
  echo "python3 benches/client.py latency $THROUGH {gpt-4o-mini|auto} --n $E2E_REQUESTS --concurrency {1|8} --distinct"
  echo '```'
  echo
  echo "$CLASSIFIER"
  echo
  python3 - "$BENCH_DIR" <<'EOF'
import json, sys
from pathlib import Path
work = Path(sys.argv[1])
print("### `model: \"auto\"` against a named model, end to end (non-streaming, every prompt distinct)\n")
print("| concurrency | named p50 / p99 ms | auto p50 / p99 ms | auto − named p50 / p99 ms | `x-llmgw-routing-ms` p50 / p99 | auto req/s |")
print("|---|---|---|---|---|---|")
for c in (1, 8):
    n = json.loads((work / f"named{c}.json").read_text())
    a = json.loads((work / f"auto{c}.json").read_text())
    nt, at, r = n["total_ms"], a["total_ms"], a["routing_header_ms"] or {}
    print(f"| {c} | {nt['p50']:.2f} / {nt['p99']:.2f} | {at['p50']:.2f} / {at['p99']:.2f} | "
          f"**{at['p50'] - nt['p50']:.2f} / {at['p99'] - nt['p99']:.2f}** | "
          f"{r.get('p50', float('nan')):.2f} / {r.get('p99', float('nan')):.2f} | {a['rps']:.0f} |")
    if n["errors"] or a["errors"]:
        print(f"\nerrors: named {n['errors']} ({n['first_error']}), auto {a['errors']} ({a['first_error']})\n")
EOF
  echo
  echo "Gateway memory with the router loaded, after the auto runs (\`/proc/PID/status\`): $MEM"
} > "$OUT"
cat "$OUT"
