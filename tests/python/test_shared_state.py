"""Two `llmgw serve` processes behind one Redis share the response cache and the budgets.

The test starts its own `redis-server` (password-protected, persistence off), gives both
gateways its URL through LLMGW_REDIS_URL, and checks that an answer cached through one is a hit
on the other, that a budget spent through one is refused on the other, that with Redis gone a
request ends at once with a clear 503, and that the Redis password never reaches the logs.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from llmgw_proc import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("LLMGW_BIN", ROOT / "target" / "debug" / "llmgw"))
KEY_VARS = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "TOGETHER_API_KEY", "NVIDIA_API_KEY"]
PASSWORD = "redis-pw-never-logged-7f3a"
TEAM_KEY = "sk-llmgw-e2e-shared-team-key-0001"
THRIFTY_KEY = "sk-llmgw-e2e-shared-thrifty-key-02"
MODEL = "gpt-4o-mini"


def redis_binary() -> str | None:
    found = os.environ.get("LLMGW_REDIS_SERVER") or shutil.which("redis-server")
    if found:
        return found
    return "/usr/bin/redis-server" if Path("/usr/bin/redis-server").is_file() else None


class Redis:
    def __init__(self, workdir: Path):
        binary = redis_binary()
        if binary is None:
            if os.environ.get("LLMGW_REQUIRE_REDIS"):
                pytest.fail("redis-server is not installed and LLMGW_REQUIRE_REDIS is set")
            pytest.skip("redis-server is not installed (apt-get install redis-server); set LLMGW_REQUIRE_REDIS=1 to fail instead")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir), "--requirepass", PASSWORD],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 10
        while not self.ping():
            assert time.time() < deadline and self.proc.poll() is None, "redis-server did not start"
            time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(f"AUTH {PASSWORD}\r\nPING\r\n".encode())
                got = b""
                while b"PONG" not in got:
                    chunk = s.recv(64)
                    if not chunk:
                        return False
                    got += chunk
                return True
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def config_text() -> str:
    def h(key: str) -> str:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()

    providers = "".join(
        f'\n[providers.{name}]\nkind = "{kind}"\napi_key_env = "{var}"\nsimulate = "always"\n'
        for name, kind, var in [
            ("openai", "openai", "OPENAI_API_KEY"),
            ("anthropic", "anthropic", "ANTHROPIC_API_KEY"),
            ("gemini", "gemini", "GEMINI_API_KEY"),
            ("together", "openai", "TOGETHER_API_KEY"),
            ("nvidia", "openai", "NVIDIA_API_KEY"),
        ]
    )
    return f"""
catalog = "{ROOT / 'models' / 'catalog.toml'}"
{providers}
[routing]
router_dir = "no-router-here"

[cache]
enabled = true
backend = "redis"
ttl_seconds = 120

[shared_state]
prefix = "e2e"
timeout_ms = 300
counters = "redis"

[[keys]]
id = "team"
hash = "{h(TEAM_KEY)}"

[[keys]]
id = "thrifty"
hash = "{h(THRIFTY_KEY)}"
daily_budget_usd = 0.0001
"""


class Gateway:
    def __init__(self, config: Path, redis_url: str, log: Path):
        env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
        env["LLMGW_REDIS_URL"] = redis_url
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--config", str(config), "--listen", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        wait_healthy(self.base + "/health", self.proc, log)

    def chat(self, key: str, text: str) -> tuple[int, dict, dict]:
        body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": text}]}).encode()
        req = urllib.request.Request(self.base + "/v1/chat/completions", data=body, headers={
            "content-type": "application/json", "authorization": f"Bearer {key}",
        })
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.log.close()


def test_two_gateways_share_cache_and_budgets_through_redis(tmp_path):
    redis = Redis(tmp_path)
    config = tmp_path / "llmgw.toml"
    config.write_text(config_text())
    gateways = []
    try:
        a = Gateway(config, redis.url, tmp_path / "a.log")
        gateways.append(a)
        b = Gateway(config, redis.url, tmp_path / "b.log")
        gateways.append(b)

        # Cached through A, a hit on B (the store is written in the background).
        question = "Which planet is known as the red planet?"
        status, headers, first = a.chat(TEAM_KEY, question)
        assert status == 200, first
        assert headers["x-llmgw-cache"] == "miss"
        deadline = time.time() + 5
        while True:
            status, headers, again = b.chat(TEAM_KEY, question)
            assert status == 200, again
            if headers["x-llmgw-cache"] == "hit" or time.time() > deadline:
                break
            time.sleep(0.05)
        assert headers["x-llmgw-cache"] == "hit"
        assert again["choices"][0]["message"]["content"] == first["choices"][0]["message"]["content"]

        # A budget spent through A is refused on B.
        for i in range(50):
            status, _, body = a.chat(THRIFTY_KEY, f"thrifty question {i}")
            if status == 429:
                break
            assert status == 200, body
        assert status == 429, "the budget ran out through A"
        status, headers, body = b.chat(THRIFTY_KEY, "a fresh question for B")
        assert status == 429, body
        assert body["error"]["code"] == "budget_exceeded"
        assert int(headers["retry-after"]) >= 1

        # Redis gone: a clear answer at once, not a hang.
        redis.stop()
        started = time.time()
        status, _, body = b.chat(TEAM_KEY, "asked during the outage")
        assert status == 503, body
        assert body["error"]["code"] == "counters_unavailable"
        assert time.time() - started < 5
        assert PASSWORD not in json.dumps(body)
        assert "Redis" in body["error"]["message"] and "127.0.0.1" not in body["error"]["message"]
    finally:
        for gw in gateways:
            gw.stop()
        redis.stop()
    for gw in gateways:
        text = gw.log_path.read_text(errors="replace")
        assert "shared state in Redis" in text
        assert ":***@127.0.0.1" in text, "the server is named with its password redacted"
        assert PASSWORD not in text, f"the Redis password appears in {gw.log_path.name}"
