"""The learning loop, end to end: serve -> feedback -> export -> train -> score.

A running `llmgw serve --log-dir` answers requests on the simulated providers (named models and
`model: "auto"`), receives feedback on them through `POST /v1/feedback`, and is stopped with
SIGTERM. `llmgw export` turns the logs into labelled prompts, `llmgw train` retrains a router on
them plus a slice of the shipped training data, and `llmgw score` shows the retrained router now
predicts quality for the models that answered in the logs.
"""

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

from llmgw_proc import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("LLMGW_BIN", ROOT / "target" / "debug" / "llmgw"))
KEY_VARS = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "TOGETHER_API_KEY", "NVIDIA_API_KEY"]


def post(url: str, body: dict):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return resp.status, dict(resp.headers), json.loads(resp.read())


def test_serve_feedback_export_train_closes_the_loop(tmp_path):
    logs = tmp_path / "logs"
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(BIN), "serve", "--listen", f"127.0.0.1:{port}", "--log-dir", str(logs)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    prompts = [f"What is {a} times {b}? Explain step by step." for a, b in [(3, 4), (12, 17), (7, 9), (21, 5)]]
    prompts += [f"Name a capital city in region {r}." for r in ["Europe", "Asia", "Africa", "South America"]]
    answered = {}
    try:
        wait_healthy(base + "/health", proc)
        for i, prompt in enumerate(prompts):
            model = "auto" if i % 2 == 0 else "gpt-4o-mini"
            status, headers, body = post(base + "/v1/chat/completions",
                                         {"model": model, "messages": [{"role": "user", "content": prompt}]})
            assert status == 200
            rid = headers["x-llmgw-request-id"]
            answered[rid] = headers["x-llmgw-model"]
            quality = 1.0 if i % 3 else 0.0
            status, _, _ = post(base + "/v1/feedback", {"request_id": rid, "quality": quality, "comment": "test"})
            assert status in (200, 202)
        # Feedback about a request this gateway never saw is accepted, not an error.
        status, _, _ = post(base + "/v1/feedback", {"request_id": "unknown-request", "quality": 0.5})
        assert status in (200, 202)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, "llmgw serve must exit 0 on SIGTERM"

    exported = tmp_path / "exported.jsonl"
    subprocess.run([str(BIN), "export", "--logs", str(logs), "--out", str(exported)], cwd=ROOT, check=True)
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(rows) == len(prompts)
    assert {r["prompt"] for r in rows} == set(prompts)
    models_in_logs = set(answered.values())
    assert set().union(*(r["quality"].keys() for r in rows)) == models_in_logs

    # Retrain on the exported outcomes plus a slice of the shipped training data.
    slice_file = tmp_path / "slice.jsonl"
    lines = (ROOT / "training-data" / "mmlu-train.jsonl").read_text().splitlines()[:120]
    slice_file.write_text("\n".join(lines) + "\n")
    router = tmp_path / "router"
    subprocess.run(
        [str(BIN), "train", "--data", str(exported), str(slice_file), "--out", str(router), "--seed", "3",
         "--cache", str(tmp_path / "emb-cache")],
        cwd=ROOT, check=True, timeout=900,
    )
    manifest = json.loads((router / "manifest.json").read_text())
    assert models_in_logs <= set(manifest["models"])

    scored = tmp_path / "scored.jsonl"
    subprocess.run([str(BIN), "score", "--data", str(exported), "--out", str(scored), "--router", str(router)],
                   cwd=ROOT, check=True)
    for line in scored.read_text().splitlines():
        row = json.loads(line)
        assert models_in_logs <= set(row["quality"])
        assert all(0.0 <= p <= 1.0 for p in row["quality"].values())
        assert 0.0 <= row["difficulty"] <= 1.0
