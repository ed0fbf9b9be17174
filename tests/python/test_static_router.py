"""`model: "auto"` through a running `llmgw serve` whose router is the shipped static-table router
(`models/router-static`), driven by the official `openai` client.

Starts `llmgw sim` and `llmgw serve --router models/router-static` with providers pointed at the
simulator. The static router must load, answer `auto` requests with the routing headers, rate a
hard maths prompt harder than a greeting (it routes on what the prompt says), and decide as the
`/v1/route` endpoint says it would, for every prompt.

The binary is `$LLMGW_BIN` (default: target/debug/llmgw, relative to the repository root).
"""

import json
import urllib.request

import openai
import pytest

from llmgw_proc import ROOT, sim_and_gateway

PROMPTS = {
    "greeting": "Hi! How are you today?",
    "maths": (
        "Let f(x) = x^3 - 6x^2 + 11x - 6. Find every real root, prove there are no others, then compute "
        "the integral of f from 0 to 4 and the area enclosed between f and the x-axis on [1, 3]. "
        "Show each step of the calculation."
    ),
    "code": "Write a Python function that returns the n-th Fibonacci number in O(log n) time, and explain why.",
}


CONFIG_TAIL = """
[routing]
default_policy = "balanced"

[routing.policies.balanced]
min_quality = 0.75
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    work = tmp_path_factory.mktemp("static-router")
    args = ("--router", str(ROOT / "models" / "router-static"))
    with sim_and_gateway(work, CONFIG_TAIL, args, rust_log="info") as gw:
        yield gw


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
