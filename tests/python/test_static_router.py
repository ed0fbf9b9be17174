"""`model: "auto"` through a running `llmgw serve` whose router is the shipped static-table router
(`models/router-static`), driven by the official `openai` client.

Starts `llmgw sim` and `llmgw serve --router models/router-static` with providers pointed at the
simulator. The static router must load, answer `auto` requests with the routing headers, rate a
hard maths prompt harder than a greeting (it routes on what the prompt says), and decide as the
`/v1/route` endpoint says it would, for every prompt.

The binary is `$LLMGW_BIN` (default: target/debug/llmgw, relative to the repository root).
"""

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import openai
import pytest

from llmgw_proc import BIN, ROOT, free_port, wait_healthy

PROMPTS = {
    "greeting": "Hi! How are you today?",
    "maths": (
        "Let f(x) = x^3 - 6x^2 + 11x - 6. Find every real root, prove there are no others, then compute "
        "the integral of f from 0 to 4 and the area enclosed between f and the x-axis on [1, 3]. "
        "Show each step of the calculation."
    ),
    "code": "Write a Python function that returns the n-th Fibonacci number in O(log n) time, and explain why.",
}


def config_text(sim: str, listen: str) -> str:
    providers = {
        "openai": ("openai", f"{sim}/openai/v1"),
        "anthropic": ("anthropic", f"{sim}/anthropic"),
        "gemini": ("gemini", f"{sim}/gemini"),
        "together": ("openai", f"{sim}/openai/v1"),
        "nvidia": ("openai", f"{sim}/openai/v1"),
    }
    tables = "".join(
        f'\n[providers.{name}]\nkind = "{kind}"\nbase_url = "{url}"\napi_key_env = "LLMGW_TEST_SIM_KEY"\n'
        for name, (kind, url) in providers.items()
    )
    return f"""
catalog = "{ROOT / 'models' / 'catalog.toml'}"

[server]
listen = "{listen}"
{tables}
[routing]
default_policy = "balanced"

[routing.policies.balanced]
min_quality = 0.75
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    if not BIN.exists():
        pytest.fail(f"{BIN} does not exist: build it with `cargo build --bin llmgw` or set LLMGW_BIN")
    work = tmp_path_factory.mktemp("static-router")
    sim_port, gw_port = free_port(), free_port()
    sim_log = work / "sim.log"
    sim = subprocess.Popen(
        [str(BIN), "sim", "--listen", f"127.0.0.1:{sim_port}"], stdout=open(sim_log, "w"), stderr=subprocess.STDOUT
    )
    sim_url = f"http://127.0.0.1:{sim_port}"
    procs = [sim]
    try:
        wait_healthy(f"{sim_url}/openai/v1/models", sim, sim_log)
        (work / "llmgw.toml").write_text(config_text(sim_url, f"127.0.0.1:{gw_port}"))
        gw_log = work / "serve.log"
        env = dict(os.environ, LLMGW_TEST_SIM_KEY="sk-test-sim", RUST_LOG="info")
        gw = subprocess.Popen(
            [str(BIN), "serve", "--config", str(work / "llmgw.toml"),
             "--router", str(ROOT / "models" / "router-static")],
            stdout=open(gw_log, "w"), stderr=subprocess.STDOUT, env=env,
        )
        procs.append(gw)
        base = f"http://127.0.0.1:{gw_port}"
        wait_healthy(f"{base}/health", gw, gw_log)
        yield {"base": base, "log": gw_log}
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()


def route(base: str, text: str) -> dict:
    body = json.dumps({"model": "auto", "messages": [{"role": "user", "content": text}]}).encode()
    req = urllib.request.Request(f"{base}/v1/route", data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_auto_with_the_static_router_routes_on_the_prompt(gateway):
    client = openai.OpenAI(base_url=f"{gateway['base']}/v1", api_key="unused")
    difficulty = {}
    for name, text in PROMPTS.items():
        raw = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": text}]
        )
        answer = raw.parse()
        headers = raw.headers
        assert answer.choices[0].message.content, name
        model = headers["x-llmgw-model"]
        assert answer.model == model
        quality = float(headers["x-llmgw-predicted-quality"])
        assert 0.0 <= quality <= 1.0, (name, quality)
        assert float(headers["x-llmgw-routing-ms"]) >= 0.0
        difficulty[name] = float(headers["x-llmgw-difficulty"])
        assert 0.0 <= difficulty[name] <= 1.0, (name, difficulty)

        # /v1/route explains the same decision for the same prompt
        decision = route(gateway["base"], text)
        assert decision["model"] == model, (name, decision["model"], model)
        assert decision["difficulty"] == pytest.approx(difficulty[name], abs=1e-3)
    # a multi-step maths problem is harder than a greeting for the models the router knows
    assert difficulty["maths"] > difficulty["greeting"] + 0.1, difficulty


def test_the_log_names_the_static_router(gateway):
    log = gateway["log"].read_text(errors="replace")
    assert "router-static" in log, log[-2000:]
