# Shared by the benchmark scripts: build, ports, the standalone simulator, the gateway.
# Source it from a script that has `set -euo pipefail` and has cd'ed to the repository root.

BENCH_DIR="${BENCH_DIR:-$(mktemp -d /tmp/llmgw-bench.XXXXXX)}"
SIM_ADDR="${SIM_ADDR:-127.0.0.1:18090}"
GW_ADDR="${GW_ADDR:-127.0.0.1:18080}"
LLMGW_BIN="${LLMGW_BIN:-target/release/llmgw}"
ROUTER="${ROUTER:-models/router}"   # the router `model: "auto"` uses (models/router-static: the static table)
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

build_release() {
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "== cargo build --release --bin llmgw" >&2
    cargo build --release --bin llmgw >&2
  fi
  [ -x "$LLMGW_BIN" ] || { echo "no binary at $LLMGW_BIN" >&2; exit 1; }
}

wait_http() { # URL [seconds]
  local url=$1 limit=${2:-120} i
  for ((i = 0; i < limit * 5; i++)); do
    if curl -s -o /dev/null "$url"; then return 0; fi
    sleep 0.2
  done
  echo "$url did not answer within $limit s" >&2
  return 1
}

start_sim() { # the simulated providers, answering at once
  "$LLMGW_BIN" sim --listen "$SIM_ADDR" > "$BENCH_DIR/sim.log" 2>&1 &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  wait_http "http://$SIM_ADDR/openai/v1/models"
}

# The gateway with every provider of the shipped catalog pointed at the simulator, the
# outcome log on (as in production), the response cache off (each request goes upstream),
# info-level request logging to a file.
start_gateway() {
  local sim="http://$SIM_ADDR" name kind url
  {
    echo "catalog = \"$PWD/models/catalog.toml\""
    echo
    echo "[server]"
    echo "listen = \"$GW_ADDR\""
    for spec in openai:openai:/openai/v1 anthropic:anthropic:/anthropic gemini:gemini:/gemini \
      together:openai:/openai/v1 nvidia:openai:/openai/v1; do
      IFS=: read -r name kind url <<< "$spec"
      printf '\n[providers.%s]\nkind = "%s"\nbase_url = "%s%s"\napi_key_env = "LLMGW_BENCH_KEY"\n' \
        "$name" "$kind" "$sim" "$url"
    done
    printf '\n[routing]\nrouter_dir = "%s/%s"\ndefault_policy = "balanced"\n' "$PWD" "$ROUTER"
    printf '\n[routing.policies.balanced]\nmin_quality = 0.75\n'
  } > "$BENCH_DIR/llmgw.toml"
  LLMGW_BENCH_KEY=sk-bench RUST_LOG=info "$LLMGW_BIN" serve --config "$BENCH_DIR/llmgw.toml" \
    --log-dir "$BENCH_DIR/outcomes" > "$BENCH_DIR/serve.log" 2>&1 &
  GW_PID=$!
  PIDS+=("$GW_PID")
  wait_http "http://$GW_ADDR/health"
}

machine_md() {
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), \`nproc\` = $(nproc)"
  echo "- Memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kernel $(uname -r)"
  echo "- Load average when the run started: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Load generator, simulated provider and gateway share the same cores; nothing is pinned."
}
