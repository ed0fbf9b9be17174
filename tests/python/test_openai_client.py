"""The official `openai` Python package as a real client of a running `llmgw serve`.

Starts `llmgw serve --listen 127.0.0.1:<free port>` with no config and no provider keys
(so every provider is simulated), waits for /health, and talks to it through
`openai.OpenAI(base_url=...)`: chat, streamed chat with usage, tool calls (whole and
streamed), JSON mode and errors, for a model of each provider kind.

The binary is `$LLMGW_BIN` (default: target/debug/llmgw, relative to the repository root).
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import openai
import pytest

from llmgw_proc import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("LLMGW_BIN", ROOT / "target" / "debug" / "llmgw"))

# One model per provider of the demo config: OpenAI, Anthropic, Gemini, and an
# OpenAI-compatible server.
MODELS = ["gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash", "mixtral-8x7b-instruct-v0.1"]
PROVIDER_OF = {
    "gpt-4o-mini": "openai",
    "claude-haiku-4-5": "anthropic",
    "gemini-2.5-flash": "gemini",
    "mixtral-8x7b-instruct-v0.1": "together",
}
KEY_VARS = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "TOGETHER_API_KEY", "NVIDIA_API_KEY"]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not BIN.exists():
        pytest.fail(f"{BIN} does not exist: build it with `cargo build --bin llmgw` or set LLMGW_BIN")
    port = free_port()
    log_dir = tmp_path_factory.mktemp("outcomes")
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    env.setdefault("RUST_LOG", "info")
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    log_file = open(log_path, "w")
    proc = subprocess.Popen(
        [str(BIN), "serve", "--listen", f"127.0.0.1:{port}", "--log-dir", str(log_dir)],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1) as r:
                health = json.load(r)
                break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                log_file.close()
                proc.kill()
                pytest.fail(f"llmgw serve did not come up:\n{log_path.read_text()}")
            time.sleep(0.2)
    yield {"base": base, "health": health, "log_path": log_path, "log_dir": log_dir, "proc": proc}
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        log_file.close()
    assert code == 0, log_path.read_text()
    # SIGTERM flushed the outcome log: every request above is in a Parquet file.
    assert list((log_dir / "outcomes").rglob("*.parquet")), log_path.read_text()
    assert list((log_dir / "feedback").rglob("*.parquet")), log_path.read_text()


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server["base"] + "/v1", api_key="anything", max_retries=0)


def test_demo_mode_is_simulated_and_says_so(server):
    providers = {p["name"]: p for p in server["health"]["providers"]}
    for name in PROVIDER_OF.values():
        assert providers[name]["simulated"] is True
        assert providers[name]["available"] is True
    log = server["log_path"].read_text()
    assert "SIMULATED" in log


@pytest.mark.parametrize("model", MODELS)
def test_chat(client, model):
    raw = client.chat.completions.with_raw_response.create(
        model=model,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Name a prime number."},
        ],
    )
    assert raw.headers["x-llmgw-model"] == model
    assert raw.headers["x-llmgw-provider"] == PROVIDER_OF[model]
    assert raw.headers["x-llmgw-request-id"].startswith("req_")
    resp = raw.parse()
    assert resp.model == model
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


@pytest.mark.parametrize("model", MODELS)
def test_multi_turn_is_deterministic(client, model):
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a fact about otters."},
    ]
    a = client.chat.completions.create(model=model, messages=messages)
    b = client.chat.completions.create(model=model, messages=messages)
    assert a.choices[0].message.content == b.choices[0].message.content


@pytest.mark.parametrize("model", MODELS)
def test_streamed_chat_with_usage(client, model):
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Write two sentences about the sea."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage, chunks = "", None, None, 0
    for chunk in stream:
        chunks += 1
        assert chunk.model == model
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    assert chunks >= 3, "answers arrive in several chunks"
    assert text
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens > 0 and usage.prompt_tokens > 0
    # The streamed text is the same answer as the non-streamed one.
    whole = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Write two sentences about the sea."}]
    )
    assert whole.choices[0].message.content == text


@pytest.mark.parametrize("model", MODELS)
def test_tool_call_and_tool_result(client, model):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    resp = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls and calls[0].function.name == "get_weather"
    args = json.loads(calls[0].function.arguments)
    assert isinstance(args["city"], str)
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": calls[0].id, "content": '{"temp_c": 21}'})
    final = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content


@pytest.mark.parametrize("model", MODELS)
def test_streamed_parallel_tool_calls(client, model):
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Weather and time in Oslo? [[sim:parallel_tools]]"}],
        tools=[WEATHER_TOOL, TIME_TOOL],
        stream=True,
    )
    calls, finish, deltas = {}, None, 0
    for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for d in choice.delta.tool_calls or []:
                deltas += 1
                call = calls.setdefault(d.index, {"id": None, "name": None, "arguments": ""})
                if d.id:
                    call["id"] = d.id
                if d.function and d.function.name:
                    call["name"] = d.function.name
                if d.function and d.function.arguments:
                    call["arguments"] += d.function.arguments
    assert finish == "tool_calls"
    if PROVIDER_OF[model] != "gemini":
        # Gemini sends each function call whole; the others split the arguments.
        assert deltas > len(calls), "arguments arrive split across several deltas"
    assert sorted(c["name"] for c in calls.values()) == ["get_time", "get_weather"]
    for c in calls.values():
        assert c["id"]
        assert isinstance(json.loads(c["arguments"]), dict)


@pytest.mark.parametrize("model", MODELS)
def test_json_mode(client, model):
    resp = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Give me a JSON object describing a cat."}],
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(resp.choices[0].message.content), dict)


def test_unknown_model_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-17-ultra", messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 404
    assert e.value.code == "model_not_found"


def test_bad_request_is_bad_request_error(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert e.value.param == "messages"


@pytest.mark.parametrize("model", MODELS)
def test_upstream_rate_limit_reaches_the_client(client, model):
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi [[sim:status=429]]"}]
        )
    assert PROVIDER_OF[model] in str(e.value)


@pytest.mark.parametrize("model", MODELS)
def test_stream_cut_upstream_raises(client, model):
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Tell me a long story [[sim:cut_after=2]]"}],
        stream=True,
    )
    with pytest.raises(openai.APIError) as e:
        for _ in stream:
            pass
    assert PROVIDER_OF[model] in str(e.value)


def test_models_list(client):
    ids = {m.id for m in client.models.list()}
    assert set(MODELS) <= ids
    assert client.models.retrieve("claude-haiku-4-5").owned_by == "anthropic"


def test_feedback_joins_a_request_id(client, server):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "2+2?"}]
    )
    request_id = raw.headers["x-llmgw-request-id"]
    req = urllib.request.Request(
        server["base"] + "/v1/feedback",
        data=json.dumps({"request_id": request_id, "quality": 1.0}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        assert json.load(r)["request_id"] == request_id


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
