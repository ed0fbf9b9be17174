"""`notebooks/routing-report.ipynb` runs headless on real artefacts.

Builds them the way a user would: `llmgw bench` with the shipped router on a slice of the
labelled MMLU dev prompts, and outcome logs written by a running `llmgw serve --log-dir`
that answered a few requests on the simulated providers and was stopped with SIGTERM.
Then executes the notebook with `jupyter nbconvert --execute` and checks its plots.
"""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from llmgw_proc import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("LLMGW_BIN", ROOT / "target" / "debug" / "llmgw"))
KEY_VARS = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "TOGETHER_API_KEY", "NVIDIA_API_KEY"]


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def make_logs(log_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "serve", "--listen", f"127.0.0.1:{port}", "--log-dir", str(log_dir)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base + "/health", proc)
        for i, model in enumerate(["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash", "gpt-4o-mini"]):
            post(base + "/v1/chat/completions",
                 {"model": model, "messages": [{"role": "user", "content": f"Question number {i}?"}]})
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, "llmgw serve must exit 0 on SIGTERM"


def test_routing_report_notebook_executes(tmp_path):
    data = tmp_path / "mmlu-dev-slice.jsonl"
    lines = (ROOT / "training-data" / "mmlu-dev.jsonl").read_text().splitlines()[:300]
    data.write_text("\n".join(lines) + "\n")
    bench_out = tmp_path / "bench"
    subprocess.run([str(BIN), "bench", "--data", str(data), "--out", str(bench_out)], cwd=ROOT, check=True)
    report = json.loads((bench_out / "report.json").read_text())
    assert report["n"] == 300
    assert 0.0 < report["router"]["apgr"] < 2.0

    logs = tmp_path / "logs"
    make_logs(logs)
    assert list((logs / "outcomes").rglob("*.parquet")), "the server wrote no outcome Parquet file"

    out_dir = tmp_path / "nb"
    env = dict(os.environ, LLMGW_REPORT=str(bench_out / "report.json"), LLMGW_LOGS=str(logs))
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         str(ROOT / "notebooks" / "routing-report.ipynb"), "--output-dir", str(out_dir)],
        cwd=ROOT, env=env, check=True, timeout=600,
    )
    executed = json.loads((out_dir / "routing-report.ipynb").read_text())
    images = [o for c in executed["cells"] if c["cell_type"] == "code"
              for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert len(images) >= 3, f"expected the curves, the per-source plot and spend by model, got {len(images)} images"
