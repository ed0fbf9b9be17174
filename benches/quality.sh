#!/usr/bin/env bash
# Router prediction quality, to check that a speed change did not change what the router
# predicts: scores MMLU dev with `llmgw score`, evaluates them with `llmgw bench --scores`,
# and compares with a reference score file when one is given.
#
#   bash benches/quality.sh [REFERENCE_SCORES.jsonl]     # writes benches/results/quality.md
#
# ROUTER picks the router (default models/router). Environment passes through to the router
# (e.g. RAYON_NUM_THREADS=1).
set -euo pipefail
cd "$(dirname "$0")/.."
LLMGW_BIN="${LLMGW_BIN:-target/release/llmgw}"
OUT="${OUT:-benches/results/quality.md}"
WORK="${WORK:-target/bench-quality}"
DATA=training-data/mmlu-dev.jsonl
ROUTER="${ROUTER:-models/router}"
mkdir -p "$WORK" "$(dirname "$OUT")"

start=$(date +%s.%N)
"$LLMGW_BIN" score --data "$DATA" --router "$ROUTER" --out "$WORK/scores.jsonl" > "$WORK/score.log" 2>&1
secs=$(echo "$(date +%s.%N) - $start" | bc)
"$LLMGW_BIN" bench --data "$DATA" --scores "$WORK/scores.jsonl" --out "$WORK/bench" > "$WORK/bench.log" 2>&1
{
  echo "### Router quality on $DATA (\`llmgw score\` then \`llmgw bench --scores\`)"
  echo
  echo '```'
  echo "$LLMGW_BIN score --data $DATA --router $ROUTER --out $WORK/scores.jsonl      # $(printf '%.1f' "$secs") s for $(wc -l < "$DATA") prompts"
  echo "$LLMGW_BIN bench --data $DATA --scores $WORK/scores.jsonl --out $WORK/bench"
  echo '```'
  echo
  echo '```'
  grep -v '^wrote ' "$WORK/bench.log"
  echo '```'
  if [ -n "${1:-}" ]; then
    python3 - "$1" "$WORK/scores.jsonl" <<'EOF'
import json, sys
ref = {j["id"]: j for j in map(json.loads, open(sys.argv[1]))}
new = {j["id"]: j for j in map(json.loads, open(sys.argv[2]))}
diff = max(abs(new[i]["quality"][m] - q) for i, r in ref.items() for m, q in r["quality"].items())
models = len(next(iter(ref.values()))["quality"])
print(f"\nLargest difference of a predicted quality against {sys.argv[1]}: {diff:.2e} "
      f"({len(ref)} prompts x {models} models).")
EOF
  fi
} > "$OUT"
cat "$OUT"
