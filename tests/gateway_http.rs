//! End to end over HTTP: the simulated providers and the gateway run in-process on loopback
//! ports, and a plain HTTP client drives the gateway with the shipped catalog, a model of
//! each provider kind, every bad-input case and every upstream failure.
//!
//! Provider keys are recognisable fakes; no response body, header or log line may contain them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};

/// One model per provider of the shipped catalog, with the provider that serves it.
const MODELS: [(&str, &str); 4] = [
    ("gpt-4o-mini", "openai"),
    ("claude-haiku-4-5", "anthropic"),
    ("gemini-2.5-flash", "gemini"),
    ("mixtral-8x7b-instruct-v0.1", "together"),
];

/// The fake keys: a leak of any of them fails the test.
const KEYS: [(&str, &str); 4] = [
    ("LLMGW_E2E_OPENAI_KEY", "sk-e2e-OPENAI-FAKE-7f3a9c"),
    (
        "LLMGW_E2E_ANTHROPIC_KEY",
        "sk-ant-e2e-ANTHROPIC-FAKE-51be02",
    ),
    ("LLMGW_E2E_GEMINI_KEY", "AIza-e2e-GEMINI-FAKE-c0ffee"),
    ("LLMGW_E2E_TOGETHER_KEY", "tg-e2e-TOGETHER-FAKE-d00d11"),
];

struct Harness {
    base: String,
    logs: Arc<Mutex<Vec<u8>>>,
    auto_enabled: bool,
    sim_requests: Box<dyn Fn(&str) -> u64 + Send + Sync>,
    _dir: tempfile::TempDir,
}

#[derive(Clone)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared sim + gateway, started once on a thread with its own runtime.
fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = LogBuffer(logs.clone());
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        for (var, key) in KEYS {
            std::env::set_var(var, key);
        }
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let dir_path = dir.path().to_path_buf();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let sim = llmgw_sim::SimServer::start(llmgw_sim::SimConfig::default())
                    .await
                    .unwrap();
                let config_text = format!(
                    r#"
catalog = "{catalog}"

[server]
max_body_bytes = 65536
first_token_timeout_secs = 1.5
request_timeout_secs = 2

[providers.openai]
kind = "openai"
base_url = "{openai}"
api_key_env = "LLMGW_E2E_OPENAI_KEY"

[providers.anthropic]
kind = "anthropic"
base_url = "{anthropic}"
api_key_env = "LLMGW_E2E_ANTHROPIC_KEY"

[providers.gemini]
kind = "gemini"
base_url = "{gemini}"
api_key_env = "LLMGW_E2E_GEMINI_KEY"

[providers.together]
kind = "openai"
base_url = "{openai}"
api_key_env = "LLMGW_E2E_TOGETHER_KEY"

[providers.nvidia]
kind = "openai"
base_url = "{openai}"
api_key_env = "LLMGW_E2E_NVIDIA_KEY_NEVER_SET"

[routing]
router_dir = "{router}"
default_policy = "balanced"

[routing.policies.balanced]
min_quality = 0.7

# Faults are injected on purpose, many times per model: keep the circuit breakers out of
# the way so that every request shows its own failure (breakers have their own tests).
[reliability]
breaker_failures = 1000000
breaker_min_calls = 1000000
"#,
                    catalog = repo().join("models/catalog.toml").display(),
                    openai = sim.openai_base_url(),
                    anthropic = sim.anthropic_base_url(),
                    gemini = sim.gemini_base_url(),
                    router = repo().join("models/router").display(),
                );
                let path = dir_path.join("llmgw.toml");
                std::fs::write(&path, config_text).unwrap();
                let config = llmgw_config::Config::load(&path).unwrap();
                let specs = llmgw_server::resolve_providers(&config, None).unwrap();
                let providers = llmgw_server::connect_providers(&specs, &config.server).unwrap();
                let router_dir = config.routing.router_dir.clone();
                let auto =
                    tokio::task::spawn_blocking(move || llmgw_server::load_router(&router_dir))
                        .await
                        .unwrap();
                let auto_enabled = auto.is_enabled();
                let gateway = llmgw_server::Gateway::builder(config, providers)
                    .auto_routing(auto)
                    .build();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let base = format!("http://{}", listener.local_addr().unwrap());
                let sim = Arc::new(sim);
                let counter = sim.clone();
                tx.send((
                    base,
                    auto_enabled,
                    Box::new(move |m: &str| counter.requests_seen_for(m))
                        as Box<dyn Fn(&str) -> u64 + Send + Sync>,
                ))
                .unwrap();
                gateway
                    .serve(listener, std::future::pending())
                    .await
                    .unwrap();
            });
        });
        let (base, auto_enabled, sim_requests) = rx.recv().unwrap();
        Harness {
            base,
            logs,
            auto_enabled,
            sim_requests,
            _dir: dir,
        }
    })
}

/// A response as seen by the client: status, headers as text, body.
struct Seen {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .unwrap()
    }
    /// The `data:` payloads of an SSE body.
    fn events(&self) -> Vec<String> {
        self.body
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .map(str::to_string)
            .collect()
    }
}

/// Every response passes the key check before a test looks at it.
fn no_key_in(seen: &Seen) {
    let headers: String = seen
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    for (_, key) in KEYS {
        assert!(
            !seen.body.contains(key),
            "key leaked in a body: {}",
            seen.body
        );
        assert!(!headers.contains(key), "key leaked in headers: {headers}");
    }
}

async fn send(req: reqwest::RequestBuilder) -> Seen {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap();
    let seen = Seen {
        status,
        headers,
        body,
    };
    no_key_in(&seen);
    assert!(
        seen.headers.contains_key("x-llmgw-request-id"),
        "every response has a request id"
    );
    seen
}

async fn post(path: &str, body: Value) -> Seen {
    let h = harness();
    send(
        reqwest::Client::new()
            .post(format!("{}{path}", h.base))
            .json(&body),
    )
    .await
}

async fn post_raw(body: &str) -> Seen {
    let h = harness();
    send(
        reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", h.base))
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

async fn get(path: &str) -> Seen {
    let h = harness();
    send(reqwest::Client::new().get(format!("{}{path}", h.base))).await
}

fn chat(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

fn stream_of(mut body: Value, usage: bool) -> Value {
    body["stream"] = json!(true);
    if usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

fn tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "get_time", "description": "Time in a city",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    ])
}

/// Assert an OpenAI-shaped error with `status` whose message names `provider`.
fn upstream_error(seen: &Seen, status: u16, provider: &str) -> Value {
    assert_eq!(seen.status, status, "{}", seen.body);
    let err = seen.json()["error"].clone();
    for field in ["message", "type"] {
        assert!(err[field].is_string(), "{}", seen.body);
    }
    assert!(
        err.get("param").is_some() && err.get("code").is_some(),
        "{}",
        seen.body
    );
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains(provider),
        "message names the provider `{provider}`: {message}"
    );
    err
}

#[tokio::test]
async fn chat_with_a_model_of_each_provider() {
    for (model, provider) in MODELS {
        let mut body = chat(model, "Name three rivers.");
        body["messages"] = json!([
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Name three rivers."}
        ]);
        body["temperature"] = json!(0.3);
        body["max_tokens"] = json!(200);
        let seen = post("/v1/chat/completions", body).await;
        assert_eq!(seen.status, 200, "{model}: {}", seen.body);
        assert_eq!(seen.header("x-llmgw-model"), model);
        assert_eq!(seen.header("x-llmgw-provider"), provider);
        let v = seen.json();
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["model"], model);
        assert!(!v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .is_empty());
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        let usage = &v["usage"];
        assert!(
            usage["prompt_tokens"].as_u64().unwrap() > 0,
            "{model}: {usage}"
        );
        assert!(usage["completion_tokens"].as_u64().unwrap() > 0);
        assert_eq!(
            usage["total_tokens"].as_u64().unwrap(),
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        );
    }
}

#[tokio::test]
async fn streams_of_each_provider_pass_chunks_and_usage() {
    for (model, _) in MODELS {
        let seen = post(
            "/v1/chat/completions",
            stream_of(chat(model, "Describe the sea."), true),
        )
        .await;
        assert_eq!(seen.status, 200, "{model}: {}", seen.body);
        assert_eq!(seen.header("content-type"), "text/event-stream");
        assert_eq!(seen.header("x-llmgw-model"), model);
        let events = seen.events();
        assert_eq!(
            events.last().map(String::as_str),
            Some("[DONE]"),
            "{model}: {}",
            seen.body
        );
        let chunks: Vec<Value> = events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect();
        assert!(chunks.len() >= 3, "{model}: several chunks");
        assert!(chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["model"] == model));
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        let finish = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
            .next_back();
        assert_eq!(finish, Some("stop"), "{model}");
        let usage = &chunks.last().unwrap()["usage"];
        assert!(
            usage["completion_tokens"].as_u64().unwrap() > 0,
            "{model}: usage in the last chunk"
        );
        // The same answer as the non-streaming call.
        let whole = post("/v1/chat/completions", chat(model, "Describe the sea."))
            .await
            .json();
        assert_eq!(
            whole["choices"][0]["message"]["content"].as_str().unwrap(),
            text,
            "{model}"
        );

        // Without include_usage the usage chunk is not sent.
        let seen = post(
            "/v1/chat/completions",
            stream_of(chat(model, "Describe the sea."), false),
        )
        .await;
        assert!(!seen.body.contains("\"usage\""), "{model}: {}", seen.body);
        assert!(seen.body.ends_with("data: [DONE]\n\n"));
    }
}

#[tokio::test]
async fn tool_calls_whole_and_streamed_as_deltas() {
    for (model, provider) in MODELS {
        let mut body = chat(model, "Weather and time in Oslo? [[sim:parallel_tools]]");
        body["tools"] = tools();
        let v = post("/v1/chat/completions", body.clone()).await.json();
        assert_eq!(
            v["choices"][0]["finish_reason"], "tool_calls",
            "{model}: {v}"
        );
        let calls = v["choices"][0]["message"]["tool_calls"]
            .as_array()
            .unwrap()
            .clone();
        let mut names: Vec<&str> = calls
            .iter()
            .map(|c| c["function"]["name"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["get_time", "get_weather"], "{model}");
        for c in &calls {
            let args: Value =
                serde_json::from_str(c["function"]["arguments"].as_str().unwrap()).unwrap();
            assert!(args["city"].is_string(), "{model}: {args}");
        }

        // Streamed: ids and names first, arguments split over several deltas per call.
        let seen = post("/v1/chat/completions", stream_of(body.clone(), false)).await;
        let mut args: std::collections::BTreeMap<u64, (String, String, String)> =
            Default::default();
        let mut deltas = 0;
        let mut finish = None;
        for e in seen.events() {
            if e == "[DONE]" {
                continue;
            }
            let c: Value = serde_json::from_str(&e).unwrap();
            if let Some(f) = c["choices"][0]["finish_reason"].as_str() {
                finish = Some(f.to_string());
            }
            for d in c["choices"][0]["delta"]["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
            {
                deltas += 1;
                let entry = args.entry(d["index"].as_u64().unwrap()).or_default();
                if let Some(id) = d["id"].as_str() {
                    entry.0 = id.to_string();
                }
                if let Some(n) = d["function"]["name"].as_str() {
                    entry.1 = n.to_string();
                }
                if let Some(a) = d["function"]["arguments"].as_str() {
                    entry.2.push_str(a);
                }
            }
        }
        assert_eq!(finish.as_deref(), Some("tool_calls"), "{model}");
        assert_eq!(args.len(), 2, "{model}: two parallel calls");
        if provider != "gemini" {
            // Gemini sends each function call whole; the others split the arguments.
            assert!(deltas > 2, "{model}: arguments split across deltas");
        }
        for (i, (id, name, a)) in &args {
            assert!(!id.is_empty() && !name.is_empty(), "{model}: call {i}");
            let whole = calls
                .iter()
                .find(|c| c["function"]["name"] == name.as_str())
                .unwrap();
            assert_eq!(
                a,
                whole["function"]["arguments"].as_str().unwrap(),
                "{model}: same arguments streamed"
            );
        }

        // The tool result goes back and the model answers in text.
        let first = &calls[0];
        let mut follow = body.clone();
        follow["messages"] = json!([
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": null, "tool_calls": [first]},
            {"role": "tool", "tool_call_id": first["id"], "content": "{\"temp_c\": 4}"}
        ]);
        let v = post("/v1/chat/completions", follow).await.json();
        assert_eq!(v["choices"][0]["finish_reason"], "stop", "{model}: {v}");
        assert!(
            v["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .contains("4"),
            "{model}: {v}"
        );
    }
}

#[tokio::test]
async fn json_mode_answers_a_json_object() {
    for (model, _) in MODELS {
        let mut body = chat(model, "A cat, as JSON.");
        body["response_format"] = json!({"type": "json_object"});
        let v = post("/v1/chat/completions", body).await.json();
        let text = v["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(
            serde_json::from_str::<Value>(text).unwrap().is_object(),
            "{model}: {text}"
        );
    }
}

#[tokio::test]
async fn models_and_health() {
    let seen = get("/v1/models").await;
    assert_eq!(seen.status, 200);
    let v = seen.json();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for (model, _) in MODELS {
        assert!(ids.contains(&model), "{model}");
    }
    assert!(ids.contains(&"gpt-4-1106-preview") && ids.contains(&"llama3-chatqa-1.5-70b"));
    assert!(
        !seen.body.contains("base_url") && !seen.body.contains("127.0.0.1"),
        "no upstream URLs"
    );

    let v = get("/health").await.json();
    assert_eq!(v["status"], "ok");
    let providers = v["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 5);
    for p in providers {
        let expected_key = p["name"] != "nvidia";
        assert_eq!(p["has_key"], expected_key, "{p}");
        assert_eq!(p["available"], expected_key, "{p}");
        assert_eq!(p["simulated"], false, "configured with explicit base URLs");
    }
}

#[tokio::test]
async fn bad_input_gets_openai_shaped_4xx() {
    let check = |seen: &Seen, status: u16| -> Value {
        assert_eq!(seen.status, status, "{}", seen.body);
        let err = seen.json()["error"].clone();
        assert!(
            err["message"].is_string() && err["type"].is_string(),
            "{}",
            seen.body
        );
        err
    };
    // Only this test uses `gpt-4.1` (upstream name `gpt-4.1`): count what reached the simulator.
    let before = (harness().sim_requests)("gpt-4.1");
    let err = check(&post_raw("{not json").await, 400);
    assert_eq!(err["code"], "invalid_json");
    let err = check(
        &post_raw(r#"{"model": "gpt-4.1", "messages": [{"role": "user", "content": 5}]}"#).await,
        400,
    );
    assert_eq!(err["param"], "messages[0].content");
    let err = check(&post_raw(r#"{"model": "gpt-4.1"}"#).await, 400);
    assert_eq!(err["param"], "messages");
    let err = check(
        &post_raw(r#"{"messages": [{"role": "user", "content": "x"}]}"#).await,
        400,
    );
    assert_eq!(err["param"], "model");
    let err = check(
        &post_raw(r#"{"model": "gpt-4.1", "messages": []}"#).await,
        400,
    );
    assert_eq!(err["param"], "messages");
    let err = check(
        &post("/v1/chat/completions", chat("gpt-99", "x")).await,
        404,
    );
    assert_eq!(err["code"], "model_not_found");
    let err = check(
        &post("/v1/chat/completions", chat("gpt-4.1", &"y".repeat(70_000))).await,
        413,
    );
    assert_eq!(err["code"], "request_too_large");
    let err = check(
        &post("/v1/chat/completions", chat("llama3-chatqa-1.5-70b", "x")).await,
        503,
    );
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("LLMGW_E2E_NVIDIA_KEY_NEVER_SET"));
    let err = check(&get("/v1/embeddings").await, 404);
    assert!(err["message"].as_str().unwrap().contains("/v1/embeddings"));
    assert_eq!(
        (harness().sim_requests)("gpt-4.1"),
        before,
        "no bad request reached a provider"
    );
}

#[tokio::test]
async fn upstream_failures_reach_the_client_as_openai_errors_naming_the_provider() {
    for (model, provider) in MODELS {
        let seen = post("/v1/chat/completions", chat(model, "hi [[sim:status=429]]")).await;
        upstream_error(&seen, 429, provider);
        assert!(seen.headers.contains_key("retry-after"), "{model}");
        assert_eq!(seen.header("x-llmgw-model"), model);

        let seen = post("/v1/chat/completions", chat(model, "hi [[sim:status=500]]")).await;
        let err = upstream_error(&seen, 502, provider);
        assert_eq!(err["type"], "upstream_error");

        let seen = post("/v1/chat/completions", chat(model, "hi [[sim:status=503]]")).await;
        upstream_error(&seen, 503, provider);

        let seen = post(
            "/v1/chat/completions",
            chat(model, "hi [[sim:error=bad_request]]"),
        )
        .await;
        let err = upstream_error(&seen, 400, provider);
        assert_eq!(err["type"], "invalid_request_error");

        let seen = post("/v1/chat/completions", chat(model, "hi [[sim:html=502]]")).await;
        let err = upstream_error(&seen, 502, provider);
        assert!(
            !err["message"].as_str().unwrap().contains("<html"),
            "no HTML page in the message"
        );

        let seen = post(
            "/v1/chat/completions",
            chat(model, "hi [[sim:delay_ms=4000]]"),
        )
        .await;
        let err = upstream_error(&seen, 504, provider);
        assert_eq!(err["type"], "timeout_error");

        // A non-streaming body cut half-way.
        let seen = post(
            "/v1/chat/completions",
            chat(model, "hi [[sim:cut_after=2]]"),
        )
        .await;
        assert!(seen.status >= 500, "{model}: {}", seen.body);
        upstream_error(&seen, seen.status, provider);

        // Streams: refused before the first byte -> a plain error response.
        let seen = post(
            "/v1/chat/completions",
            stream_of(chat(model, "hi [[sim:status=429]]"), false),
        )
        .await;
        upstream_error(&seen, 429, provider);

        // Streams cut mid-way -> an error event, never [DONE].
        let seen = post(
            "/v1/chat/completions",
            stream_of(chat(model, "tell a long story [[sim:cut_after=2]]"), true),
        )
        .await;
        assert_eq!(seen.status, 200);
        assert!(!seen.body.contains("[DONE]"), "{model}: {}", seen.body);
        let events = seen.events();
        assert!(events.len() >= 2, "{model}: some content arrived first");
        let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
        let message = last["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{model}: {last}"));
        assert!(message.contains(provider), "{model}: {message}");

        // A stream that stalls past the time budget -> an error event too.
        let seen = post(
            "/v1/chat/completions",
            stream_of(chat(model, "hi [[sim:delay_ms=4000]]"), false),
        )
        .await;
        if seen.status == 200 {
            let last: Value = serde_json::from_str(seen.events().last().unwrap()).unwrap();
            assert_eq!(
                last["error"]["type"], "timeout_error",
                "{model}: {}",
                seen.body
            );
        } else {
            upstream_error(&seen, 504, provider);
        }
    }
}

#[tokio::test]
async fn auto_routing_with_the_shipped_router_or_a_clear_error() {
    let h = harness();
    let seen = post(
        "/v1/chat/completions",
        chat("auto", "What is the capital of France?"),
    )
    .await;
    if !h.auto_enabled {
        assert_eq!(seen.status, 400);
        let err = seen.json()["error"].clone();
        assert_eq!(err["code"], "auto_routing_unavailable");
        assert!(err["message"].as_str().unwrap().contains("models/router"));
        return;
    }
    assert_eq!(seen.status, 200, "{}", seen.body);
    let model = seen.header("x-llmgw-model").to_string();
    assert_ne!(
        seen.header("x-llmgw-provider"),
        "nvidia",
        "providers without a key are skipped"
    );
    for h in [
        "x-llmgw-predicted-quality",
        "x-llmgw-difficulty",
        "x-llmgw-estimated-cost-usd",
        "x-llmgw-routing-ms",
    ] {
        let v: f64 = seen.header(h).parse().unwrap();
        assert!(v.is_finite() && v >= 0.0, "{h}");
    }
    assert_eq!(seen.json()["model"], model.as_str());

    let v = post("/v1/route", chat("auto", "What is the capital of France?"))
        .await
        .json();
    assert_eq!(
        v["model"],
        model.as_str(),
        "/v1/route gives the same decision"
    );
    assert!(v["candidates"].as_array().unwrap().len() > 10);
    for c in v["candidates"].as_array().unwrap() {
        if c["provider"] == "nvidia" {
            assert_eq!(c["eligible"], false);
            assert!(c["reason"].as_str().unwrap().contains("no API key"));
        }
    }
}

#[tokio::test]
async fn keys_never_reach_the_logs() {
    // Drive a few requests of every kind first (other tests run concurrently too).
    for (model, _) in MODELS {
        post("/v1/chat/completions", chat(model, "hi [[sim:status=401]]")).await;
        post("/v1/chat/completions", chat(model, "hello")).await;
    }
    let logs = String::from_utf8_lossy(&harness().logs.lock().unwrap()).to_string();
    assert!(logs.contains("request"), "request lines are logged");
    for (_, key) in KEYS {
        assert!(!logs.contains(key), "a provider key appears in the logs");
    }
}
