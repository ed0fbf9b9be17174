"""Starting `llmgw` processes for the end-to-end tests: the binary, a free port, waiting for health."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
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
