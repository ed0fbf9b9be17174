"""`x-llmgw-overhead-ms` on every response of a running `llmgw serve`.

Starts `llmgw sim` (the simulated providers, answering at once) and `llmgw serve` with a
config whose providers point at it, the exact cache on and the outcome log on. Sends a
plain answer, a stream, an upstream error, a gateway error, cache hits (JSON and stream)
and answers the simulator delays by 200 ms; every response carries a non-negative overhead
that is smaller than the latency the client saw, the delayed ones far smaller than the
delay, and the outcome log records the same overhead as the header.

The binary is `$LLMGW_BIN` (default: target/debug/llmgw, relative to the repository root).
"""

import json
import signal
import time
import urllib.error
import urllib.request

import pyarrow.dataset as ds
import pytest

from llmgw_proc import ROOT, sim_and_gateway

HEADER = "x-llmgw-overhead-ms"


CONFIG_TAIL = f"""
[cache]
enabled = true

[routing]
router_dir = "{ROOT / 'models' / 'router'}"
default_policy = "balanced"

[routing.policies.balanced]
min_quality = 0.75
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    work = tmp_path_factory.mktemp("overhead")
    log_dir = work / "outcomes"
    with sim_and_gateway(work, CONFIG_TAIL, ("--log-dir", str(log_dir))) as gw:
        yield dict(gw, log_dir=log_dir)


def send(base: str, body: dict | None, path: str = "/v1/chat/completions") -> dict:
    """One request; returns status, headers, body text and the client-side latency in ms."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path, data=data, headers={"content-type": "application/json"}, method="POST" if data else "GET"
    )
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, headers, text = resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as e:
        status, headers, text = e.code, dict(e.headers), e.read().decode()
    latency_ms = (time.perf_counter() - t0) * 1000.0
    headers = {k.lower(): v for k, v in headers.items()}
    return {"status": status, "headers": headers, "text": text, "latency_ms": latency_ms}


def chat(text: str, model: str = "gpt-4o-mini", stream: bool = False) -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    if stream:
        body["stream"] = True
    return body


def overhead(seen: dict) -> float:
    assert HEADER in seen["headers"], f"no {HEADER} on a {seen['status']} response: {seen['headers']}"
    value = float(seen["headers"][HEADER])
    assert value >= 0.0, value
    assert value < seen["latency_ms"], (value, seen["latency_ms"])
    return value


def test_every_kind_of_response_reports_its_overhead(gateway):
    base = gateway["base"]
    plain = send(base, chat("What is the capital of France?"))
    assert plain["status"] == 200 and plain["headers"]["x-llmgw-cache"] == "miss"
    overhead(plain)

    stream = send(base, chat("Name three rivers in Europe.", stream=True))
    assert stream["status"] == 200 and "data: [DONE]" in stream["text"]
    overhead(stream)

    hit = send(base, chat("What is the capital of France?"))
    assert hit["headers"]["x-llmgw-cache"] == "hit"
    overhead(hit)
    stream_hit = send(base, chat("What is the capital of France?", stream=True))
    assert stream_hit["headers"]["x-llmgw-cache"] == "hit" and "data: [DONE]" in stream_hit["text"]
    overhead(stream_hit)

    upstream_error = send(base, chat("fail please [[sim:status=500]]"))
    assert upstream_error["status"] >= 500, upstream_error["text"]
    overhead(upstream_error)

    unknown_model = send(base, chat("hello", model="no-such-model"))
    assert unknown_model["status"] == 404, unknown_model["text"]
    overhead(unknown_model)

    malformed = send(base, None)  # a GET on a POST route: 405 from the router
    assert malformed["status"] == 405
    overhead(malformed)
    health = send(base, None, path="/health")
    assert health["status"] == 200
    overhead(health)


def test_upstream_wait_is_not_counted(gateway):
    base = gateway["base"]
    for stream in (False, True):
        seen = send(base, chat(f"Slow answer, stream={stream} [[sim:delay_ms=200]]", stream=stream))
        assert seen["status"] == 200, seen["text"]
        assert seen["latency_ms"] >= 200.0, seen["latency_ms"]
        # The 200 ms the simulator waits is upstream time, not gateway time.
        assert overhead(seen) < 100.0, seen["headers"][HEADER]


def test_outcome_log_records_the_same_overhead(gateway):
    base = gateway["base"]
    sent, auto = {}, set()
    for i, (model, stream) in enumerate((("gpt-4o-mini", False), ("gpt-4o-mini", True), ("auto", False))):
        seen = send(base, chat(f"Record me {i} [[sim:delay_ms=50]]", model=model, stream=stream))
        assert seen["status"] == 200, seen["text"]
        request_id = seen["headers"]["x-llmgw-request-id"]
        sent[request_id] = float(seen["headers"][HEADER])
        if model == "auto":
            auto.add(request_id)
            # Routing is part of the gateway's own time.
            assert float(seen["headers"]["x-llmgw-routing-ms"]) <= sent[request_id]
    gw = gateway["proc"]
    gw.send_signal(signal.SIGTERM)  # flushes the outcome log
    assert gw.wait(timeout=60) == 0, gateway["log"].read_text()
    table = ds.dataset(gateway["log_dir"] / "outcomes", format="parquet", partitioning="hive").to_table()
    rows = {r["request_id"]: r for r in table.select(["request_id", "overhead_ms", "routing_ms", "latency_ms"]).to_pylist()}
    for request_id, header_ms in sent.items():
        row = rows[request_id]
        assert row["overhead_ms"] == pytest.approx(header_ms, abs=0.0006), (row, header_ms)
        if request_id in auto:
            assert row["routing_ms"] is not None and 0.0 <= row["routing_ms"] <= row["overhead_ms"], row
        else:
            assert row["routing_ms"] is None, "named models are not routed"
        assert row["overhead_ms"] + 50.0 <= row["latency_ms"], row
