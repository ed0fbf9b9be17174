//! Streams of an OpenAI-compatible upstream go to the client as the upstream sent them when
//! nothing needs changing, through the real provider client and a hand-written SSE server.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use llmgw_server::{AutoRouting, Gateway};
use serde_json::{json, Value};

use crate::support::sse_events;

const CATALOG: &str = r#"
[[model]]
id = "same"
provider = "raw"
input_per_mtok = 1.0
output_per_mtok = 2.0
context_window = 2000

[[model]]
id = "renamed"
provider = "raw"
upstream = "renamed-up"
input_per_mtok = 1.0
output_per_mtok = 2.0
context_window = 2000
"#;

/// What the upstream sends for `model`: chunks with fields the gateway does not model,
/// spacing a re-encoder would not keep, usage on the finishing chunk and a usage-only chunk.
fn upstream_payloads(model: &str) -> Vec<String> {
    vec![
        format!(
            r#"{{"id": "chatcmpl-raw", "object": "chat.completion.chunk", "created": 7, "model": "{model}", "system_fingerprint": "fp_x", "x_vendor": {{"a": 1}}, "choices": [{{"index": 0, "delta": {{"role": "assistant", "content": "Hel"}}, "logprobs": null, "finish_reason": null}}], "usage": null}}"#
        ),
        format!(
            r#"{{"id":"chatcmpl-raw","object":"chat.completion.chunk","created":7,"model":"{model}","x_vendor":{{"a":2}},"choices":[{{"index":0,"delta":{{"content":"lo"}},"finish_reason":null}}]}}"#
        ),
        format!(
            r#"{{"id":"chatcmpl-raw","object":"chat.completion.chunk","created":7,"model":"{model}","choices":[{{"index":0,"delta":{{}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}}}"#
        ),
        format!(
            r#"{{"id":"chatcmpl-raw","object":"chat.completion.chunk","created":7,"model":"{model}","x_vendor":{{"a":3}},"choices":[],"usage":{{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}}}"#
        ),
    ]
}

type Seen = Arc<Mutex<Vec<Value>>>;

async fn chat_completions(State(seen): State<Seen>, Json(body): Json<Value>) -> impl IntoResponse {
    let model = body["model"].as_str().unwrap_or_default().to_string();
    seen.lock().unwrap().push(body);
    let mut sse: String = upstream_payloads(&model)
        .iter()
        .map(|p| format!("data: {p}\n\n"))
        .collect();
    sse.push_str("data: [DONE]\n\n");
    ([(CONTENT_TYPE, "text/event-stream")], sse)
}

struct Setup {
    base: String,
    seen: Seen,
    client: reqwest::Client,
    _serving: llmgw_server::Serving,
    _dir: tempfile::TempDir,
}

async fn start() -> Setup {
    let seen: Seen = Arc::default();
    let upstream = Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, upstream).await });

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.toml"), CATALOG).unwrap();
    let config = format!(
        r#"
catalog = "catalog.toml"

[providers.raw]
kind = "openai"
base_url = "http://{upstream_addr}/v1"

[routing]
default_policy = "any"

[routing.policies.any]
min_quality = 0.5
"#
    );
    let path = dir.path().join("llmgw.toml");
    std::fs::write(&path, config).unwrap();
    let config = llmgw_config::Config::load(&path).unwrap();
    let specs = llmgw_server::resolve_providers(&config, None).unwrap();
    assert!(!specs[0].simulated);
    let providers = llmgw_server::connect_providers(&specs, &config.server).unwrap();
    let gateway = Gateway::builder(config, providers)
        .auto_routing(AutoRouting::disabled("no router in this test"))
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let serving = gateway.spawn(listener).unwrap();
    Setup {
        base: serving.base_url(),
        seen,
        client: reqwest::Client::new(),
        _serving: serving,
        _dir: dir,
    }
}

impl Setup {
    /// Streams a chat from `model` and returns the `data:` payloads the client received.
    async fn stream(&self, model: &str, usage: bool) -> Vec<String> {
        let mut body = json!({
            "model": model, "stream": true, "top_k": 40, "route": {"exclude_providers": []},
            "messages": [{"role": "user", "content": "hello"}],
        });
        if usage {
            body["stream_options"] = json!({"include_usage": true});
        }
        let resp = self
            .client
            .post(format!("{}/v1/chat/completions", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        sse_events(&resp.text().await.unwrap())
    }
}

fn done(payloads: Vec<String>) -> Vec<String> {
    payloads
        .into_iter()
        .chain(std::iter::once("[DONE]".to_string()))
        .collect()
}

#[tokio::test]
async fn chunks_reach_the_client_byte_for_byte_when_the_model_name_matches() {
    let s = start().await;
    let events = s.stream("same", true).await;
    assert_eq!(events, done(upstream_payloads("same")));

    // The request went upstream once, as the client's fields minus the gateway's own.
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["model"], "same");
    assert_eq!(seen[0]["top_k"], 40);
    assert_eq!(seen[0]["stream"], true);
    assert_eq!(seen[0]["stream_options"]["include_usage"], true);
    assert!(seen[0].get("route").is_none(), "{}", seen[0]);
}

#[tokio::test]
async fn usage_the_client_did_not_ask_for_is_still_dropped() {
    let s = start().await;
    let events = s.stream("same", false).await;
    let sent = upstream_payloads("same");
    assert_eq!(events.len(), 4, "{events:?}");
    // A chunk with no usage key passes as sent; one with `"usage": null` (what an upstream
    // asked for usage sends) is encoded again without the key, as the client did not ask.
    assert_eq!(events[1], sent[1]);
    let first: Value = serde_json::from_str(&events[0]).unwrap();
    assert!(first.get("usage").is_none(), "{first}");
    assert_eq!(first["choices"][0]["delta"]["content"], "Hel");
    assert_eq!(first["model"], "same");
    assert!(
        events.iter().all(|e| !e.contains("\"usage\"")),
        "{events:?}"
    );
    // The finishing chunk loses its usage (so it is encoded again); the usage-only chunk
    // is not forwarded at all.
    let finishing: Value = serde_json::from_str(&events[2]).unwrap();
    assert!(finishing.get("usage").is_none(), "{finishing}");
    assert_eq!(finishing["choices"][0]["finish_reason"], "stop");
    assert_eq!(finishing["model"], "same");
    assert_eq!(events[3], "[DONE]");
    assert!(events.iter().all(|e| !e.contains("\"prompt_tokens\"")));
    // Usage was still asked upstream (the gateway prices every answer).
    assert_eq!(
        s.seen.lock().unwrap()[0]["stream_options"]["include_usage"],
        true
    );
}

#[tokio::test]
async fn a_catalog_id_other_than_the_upstream_name_is_written_into_every_chunk() {
    let s = start().await;
    let events = s.stream("renamed", true).await;
    assert_eq!(s.seen.lock().unwrap()[0]["model"], "renamed-up");
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(events[4], "[DONE]");
    let chunks: Vec<Value> = events[..4]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(chunks.iter().all(|c| c["model"] == "renamed"), "{chunks:?}");
    assert!(events.iter().all(|e| !e.contains("renamed-up")));
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello");
    assert_eq!(chunks[0]["system_fingerprint"], "fp_x");
    assert_eq!(chunks[3]["usage"]["total_tokens"], 7);
}
