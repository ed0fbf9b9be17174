#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust unit/integration/end-to-end tests, and the
# Python tests that drive a running gateway through the official `openai` client.
# Installs what it needs itself (Python packages into .venv); safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "system packages (redis-server for shared-state tests, chromium for the dashboard test)"
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# Tests that need these fail (instead of skipping) when they are missing.
export LLMGW_REQUIRE_REDIS=1
export LLMGW_REQUIRE_CHROMIUM=1

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo build (llmgw binary)"
cargo build --bin llmgw

step "cargo test"
cargo test --workspace --all-targets

step "python test environment (.venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt

step "sample outcome logs for the Parquet reader tests"
rm -rf target/sample-logs
cargo run --quiet -p llmgw-outcomes --example sample_logs -- target/sample-logs
export LLMGW_TEST_LOGS="$PWD/target/sample-logs"

step "python tests (official openai client, Parquet readers, learning loop, notebook)"
export LLMGW_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/llmgw"
.venv/bin/python -m pytest -q tests/python
