"""Starting `llmgw` processes for the end-to-end tests: the binary, a free port, waiting for health,
and a gateway serving the standalone simulator."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("LLMGW_BIN", ROOT / "target" / "debug" / "llmgw"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, log: Path | None = None, timeout: float = 120.0) -> None:
    """Waits until `url` answers (any HTTP status counts); fails, with the process's log when
    there is one, if the process exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                detail = log.read_text(errors="replace") if log is not None and log.exists() else ""
                raise AssertionError(f"{url} did not answer (exit status {proc.poll()})\n{detail}")
            time.sleep(0.2)


SIM_KEY_ENV = "LLMGW_TEST_SIM_KEY"


def sim_config(sim_url: str, listen: str, tail: str) -> str:
    """A `llmgw serve` config: the shipped catalog, `listen`, every provider of the catalog
    pointed at the standalone simulator at `sim_url` (key from `$LLMGW_TEST_SIM_KEY`), then `tail`."""
    providers = {
        "openai": ("openai", f"{sim_url}/openai/v1"),
        "anthropic": ("anthropic", f"{sim_url}/anthropic"),
        "gemini": ("gemini", f"{sim_url}/gemini"),
        "together": ("openai", f"{sim_url}/openai/v1"),
        "nvidia": ("openai", f"{sim_url}/openai/v1"),
    }
    tables = "".join(
        f'\n[providers.{name}]\nkind = "{kind}"\nbase_url = "{url}"\napi_key_env = "{SIM_KEY_ENV}"\n'
        for name, (kind, url) in providers.items()
    )
    return f'catalog = "{ROOT / "models" / "catalog.toml"}"\n\n[server]\nlisten = "{listen}"\n{tables}\n{tail}'


@contextmanager
def sim_and_gateway(work: Path, config_tail: str, serve_args: tuple[str, ...] = (), rust_log: str = "warn"):
    """Runs `llmgw sim` and `llmgw serve` on it (config from [`sim_config`] plus `config_tail`,
    extra `serve_args`), waits for both, yields `{"base", "proc", "log"}` for the gateway and
    stops both (SIGTERM, then kill) on the way out."""
    if not BIN.exists():
        raise AssertionError(f"{BIN} does not exist: build it with `cargo build --bin llmgw` or set LLMGW_BIN")
    sim_port, gw_port = free_port(), free_port()
    sim_log, gw_log = work / "sim.log", work / "serve.log"
    procs = []
    try:
        sim = subprocess.Popen(
            [str(BIN), "sim", "--listen", f"127.0.0.1:{sim_port}"], stdout=open(sim_log, "w"), stderr=subprocess.STDOUT
        )
        procs.append(sim)
        sim_url = f"http://127.0.0.1:{sim_port}"
        wait_healthy(f"{sim_url}/openai/v1/models", sim, sim_log)
        config = work / "llmgw.toml"
        config.write_text(sim_config(sim_url, f"127.0.0.1:{gw_port}", config_tail))
        env = dict(os.environ, **{SIM_KEY_ENV: "sk-test-sim"}, RUST_LOG=rust_log)
        gw = subprocess.Popen(
            [str(BIN), "serve", "--config", str(config), *serve_args],
            stdout=open(gw_log, "w"), stderr=subprocess.STDOUT, env=env,
        )
        procs.append(gw)
        base = f"http://127.0.0.1:{gw_port}"
        wait_healthy(f"{base}/health", gw, gw_log)
        yield {"base": base, "proc": gw, "log": gw_log}
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
