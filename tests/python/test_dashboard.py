"""The dashboard in a real browser: `/dashboard` rendered by headless Chromium draws the data
that `/v1/analytics/overview` returns.

Starts `llmgw serve` on the simulated providers with an outcome log, the exact cache and
gateway keys, sends named, streamed, repeated (cache hit) and `auto` traffic through the
official `openai` client, then loads the page with `chromium --headless --dump-dom` and checks
that every chart has one mark per group of the API's answer and that the totals shown are the
API's. Skips only when Chromium is missing and LLMGW_REQUIRE_CHROMIUM is unset.

Set LLMGW_DASHBOARD_SCREENSHOT=/path/shot.png to keep a screenshot of the page.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import openai
import pytest

from llmgw_proc import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("LLMGW_BIN", ROOT / "target" / "debug" / "llmgw"))
KEY_VARS = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "TOGETHER_API_KEY", "NVIDIA_API_KEY"]
APP_KEY = "sk-llmgw-dashboard-app-key-000001"
ADMIN_KEY = "sk-llmgw-dashboard-admin-key-0002"


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if path:
            return path
    if os.environ.get("LLMGW_REQUIRE_CHROMIUM"):
        pytest.fail("chromium is not installed and LLMGW_REQUIRE_CHROMIUM is set")
    pytest.skip("chromium is not installed (set LLMGW_REQUIRE_CHROMIUM=1 to make this a failure)")


def key_hash(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def write_config(tmp: Path) -> Path:
    """The demo config with absolute paths, the exact cache on and two keys."""
    text = (ROOT / "models" / "demo.toml").read_text()
    text = text.replace('catalog = "catalog.toml"', f'catalog = "{ROOT / "models" / "catalog.toml"}"')
    text = text.replace('router_dir = "router"', f'router_dir = "{ROOT / "models" / "router"}"')
    text += f"""
[cache]
enabled = true

[[keys]]
id = "app"
hash = "{key_hash(APP_KEY)}"

[admin]
key_hash = "{key_hash(ADMIN_KEY)}"
"""
    path = tmp / "llmgw.toml"
    path.write_text(text)
    return path


class Gateway:
    def __init__(self, config: Path, log_dir: Path):
        env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--config", str(config), "--listen", f"127.0.0.1:{port}", "--log-dir", str(log_dir)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_healthy(self.base + "/health", self.proc)

    def get(self, path: str, key: str | None):
        req = urllib.request.Request(self.base + path, headers={"authorization": f"Bearer {key}"} if key else {})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=60) == 0


def send_traffic(base: str) -> int:
    client = openai.OpenAI(base_url=base + "/v1", api_key=APP_KEY, max_retries=0)
    n = 0
    named = [
        ("gpt-4o-mini", "Name three primary colours. [[sim:tokens=20]]"),
        ("gpt-4o-mini", "Name three primary colours. [[sim:tokens=20]]"),  # exact cache hit
        ("claude-haiku-4-5", "Say hello in French. [[sim:tokens=12]]"),
        ("gemini-2.5-flash", "What is 2+2? [[sim:tokens=8]]"),
        ("gpt-4o", "Summarise the plot of Hamlet in one paragraph. [[sim:tokens=60]]"),
    ]
    for model, text in named:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
        n += 1
    stream = client.chat.completions.create(
        model="claude-sonnet-4-5", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Write a haiku about routers. [[sim:tokens=25]]"}],
    )
    for _ in stream:
        pass
    n += 1
    for text in [
        "What is the capital of France?",
        "Hi!",
        "Prove that there are infinitely many primes, then generalise the argument to primes of the form 4k+3.",
        "Derive the closed form of the Fibonacci sequence using generating functions and prove its correctness.",
        "Translate 'good morning' into Spanish.",
    ]:
        client.chat.completions.create(model="auto", messages=[{"role": "user", "content": text + " [[sim:tokens=30]]"}])
        n += 1
    return n


class Marks(HTMLParser):
    """Collects the attributes of every element of a dumped DOM."""

    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def with_class(self, cls: str) -> list[dict]:
        return [a for _, a in self.elements if a.get("class") == cls]

    def by_id(self, ident: str) -> dict:
        [found] = [a for _, a in self.elements if a.get("id") == ident]
        return found


def run_chromium(browser: str, url: str, profile: Path, *extra: str) -> str:
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--virtual-time-budget=8000", "--window-size=1400,1700", *extra, url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def dom(browser: str, url: str, profile: Path) -> Marks:
    page = Marks()
    page.feed(run_chromium(browser, url, profile, "--dump-dom"))
    return page


def test_dashboard_draws_what_the_api_returns(tmp_path):
    browser = chromium()
    gw = Gateway(write_config(tmp_path), tmp_path / "logs")
    try:
        sent = send_traffic(gw.base)
        # The dashboard's default: the last hour, by minute.
        since = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        query = f"/v1/analytics/overview?bucket=minute&from={since}"
        deadline = time.time() + 30
        while True:
            status, api = gw.get(query, ADMIN_KEY)
            assert status == 200, api
            if api["totals"]["requests"] == sent or time.time() > deadline:
                break
            time.sleep(0.2)
        totals = api["totals"]
        assert totals["requests"] == sent
        assert totals["cache_hits"]["exact"] >= 1
        assert totals["savings_usd"] > 0
        assert api["routing"], "auto traffic shows in the routing breakdown"
        assert len(api["models"]) >= 4

        # Without a key the page asks for one.
        locked = dom(browser, gw.base + "/dashboard", tmp_path / "profile-none")
        body = locked.by_id("banner")
        assert [a for t, a in locked.elements if t == "body"][0]["data-state"] == "error"
        assert "show" in body.get("class", "")

        # A gateway key sees its own traffic (here: all of it).
        mine = dom(browser, gw.base + "/dashboard#key=" + APP_KEY, tmp_path / "profile-app")
        b = [a for t, a in mine.elements if t == "body"][0]
        assert (b["data-state"], b["data-access"]) == ("ready", "key")

        page = dom(browser, gw.base + "/dashboard#key=" + ADMIN_KEY, tmp_path / "profile-admin")
        b = [a for t, a in page.elements if t == "body"][0]
        assert (b["data-state"], b["data-access"]) == ("ready", "admin")
        timeline, models, routing = api["timeline"], api["models"], api["routing"]
        assert len(page.with_class("bar cost")) == len(timeline)
        assert len(page.with_class("pt savings")) == len(timeline)
        assert len(page.with_class("pt cache")) == len(timeline)
        assert len(page.with_class("pt p50")) == sum(1 for g in timeline if g["latency_ms"]["p50"] is not None)
        assert len(page.with_class("bar model")) == len(models)
        assert len(page.with_class("seg routing")) == len(routing)
        assert sum(int(a["data-value"]) for a in page.with_class("seg routing")) == sum(c["requests"] for c in routing)
        assert sorted(a["data-group"] for a in page.with_class("bar model")) == sorted(
            "(no model reached)" if g["group"] is None else g["group"] for g in models)
        assert int(page.by_id("kpi-requests")["data-value"]) == totals["requests"]
        assert abs(float(page.by_id("kpi-cost")["data-value"]) - totals["cost_usd"]) < 1e-12
        assert abs(float(page.by_id("kpi-savings")["data-value"]) - totals["savings_usd"]) < 1e-12
        assert abs(float(page.by_id("kpi-cache")["data-value"]) - totals["cache_hit_rate"]) < 1e-12
        assert page.by_id("kpi-reference")["data-value"] == api["reference"]["model"]
        bars = sum(float(a["data-value"]) for a in page.with_class("bar cost"))
        assert abs(bars - totals["cost_usd"]) < 1e-9

        shot = tmp_path / "dashboard.png"
        run_chromium(browser, gw.base + "/dashboard", tmp_path / "profile-admin", f"--screenshot={shot}")
        assert shot.stat().st_size > 10_000
        if os.environ.get("LLMGW_DASHBOARD_SCREENSHOT"):
            shutil.copy(shot, os.environ["LLMGW_DASHBOARD_SCREENSHOT"])
    finally:
        gw.stop()
