"""`model: "auto"` prices each candidate's answer with the length that model really answered.

Before any traffic the estimate uses the catalog's `typical_output_tokens`; after a few answers
it uses the mean completion tokens observed (live), and a restarted gateway reading the same
`--log-dir` starts from the logged lengths.
"""

import json
import os
import signal
import subprocess
import tomllib
import urllib.request
from pathlib import Path

from llmgw_proc import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("LLMGW_BIN", ROOT / "target" / "debug" / "llmgw"))
KEY_VARS = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "TOGETHER_API_KEY", "NVIDIA_API_KEY"]
MODEL = "gpt-4o-mini"
ANSWER_TOKENS = 40


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())


class Gateway:
    def __init__(self, log_dir: Path):
        env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--listen", f"127.0.0.1:{port}", "--log-dir", str(log_dir)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_healthy(self.base + "/health", self.proc)

    def estimated_cost(self) -> float:
        decision = post(self.base + "/v1/route", {
            "model": "auto", "route": {"models": [MODEL]},
            "messages": [{"role": "user", "content": "Summarise the plot of Hamlet."}],
        })
        [cand] = [c for c in decision["candidates"] if c["model"] == MODEL]
        return cand["estimated_cost_usd"]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=60) == 0


def test_expected_answer_length_comes_from_the_logs(tmp_path):
    catalog = tomllib.loads((ROOT / "models" / "catalog.toml").read_text())
    [entry] = [m for m in catalog["model"] if m["id"] == MODEL]
    typical = entry.get("typical_output_tokens", 300)
    out_price = entry["output_per_mtok"] / 1e6
    assert typical != ANSWER_TOKENS

    logs = tmp_path / "logs"
    gw = Gateway(logs)
    try:
        before = gw.estimated_cost()
        for i in range(6):
            answer = post(gw.base + "/v1/chat/completions", {
                "model": MODEL,
                "messages": [{"role": "user", "content": f"Tell me fact {i}. [[sim:tokens={ANSWER_TOKENS}]]"}],
            })
            assert answer["usage"]["completion_tokens"] == ANSWER_TOKENS
        after = gw.estimated_cost()
    finally:
        gw.stop()
    assert abs((before - after) - (typical - ANSWER_TOKENS) * out_price) < 1e-12

    restarted = Gateway(logs)
    try:
        assert abs(restarted.estimated_cost() - after) < 1e-12
    finally:
        restarted.stop()
