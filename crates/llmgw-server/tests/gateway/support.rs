//! A gateway over fake upstreams, served on a loopback port.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use llmgw_config::{Config, KeyStatus, ProviderKind};
use llmgw_server::{
    AutoRouting, ChunkStream, Gateway, Prediction, ProviderHandle, ProviderRegistry,
    QualityPredictor, Upstream, UpstreamError,
};
use llmgw_types::{
    ApiError, ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse, Choice,
    ChunkDelta, ErrorBody, FinishReason, ResponseMessage, StreamChunk, Usage,
};

pub const CONFIG: &str = r#"
catalog = "catalog.toml"

[server]
max_body_bytes = 4096
first_token_timeout_secs = 0.5
request_timeout_secs = 2
shutdown_grace_secs = 2

[providers.alpha]
kind = "openai"

[providers.beta]
kind = "anthropic"

[providers.locked]
kind = "gemini"
api_key_env = "LLMGW_TEST_KEY_THAT_IS_NEVER_SET"

[routing]
default_policy = "balanced"

[routing.policies.balanced]
min_quality = 0.5

[routing.policies.frugal]
lambda = 0.0001
"#;

pub const CATALOG: &str = r#"
[[model]]
id = "strong"
provider = "alpha"
upstream = "strong-upstream-v1"
input_per_mtok = 10.0
output_per_mtok = 30.0
context_window = 2000
max_output_tokens = 500

[[model]]
id = "weak"
provider = "alpha"
input_per_mtok = 0.2
output_per_mtok = 0.2
context_window = 2000

[[model]]
id = "mid"
provider = "beta"
input_per_mtok = 1.0
output_per_mtok = 1.0
context_window = 2000
quality_as = "strong"

[[model]]
id = "locked"
provider = "locked"
input_per_mtok = 0.01
output_per_mtok = 0.01
context_window = 2000
quality_as = "strong"
"#;

/// Behaviour by directive in the last user message:
/// `fail429`, `fail500`, `slow` (3 s before answering), `cut` (stream ends without a finish),
/// `midfail` (stream errors after one chunk), `stall` (stream stalls after one chunk).
#[derive(Default)]
pub struct FakeUpstream {
    pub name: String,
    pub seen: Mutex<Vec<ChatCompletionRequest>>,
}

fn last_user_text(req: &ChatCompletionRequest) -> String {
    req.messages.last().map(|m| m.text()).unwrap_or_default()
}

fn upstream_error(provider: &str, status: u16) -> UpstreamError {
    let body = if status == 429 {
        ErrorBody::rate_limit(format!("Provider `{provider}` is rate limiting requests."))
    } else {
        ErrorBody::upstream(format!("Provider `{provider}` failed with HTTP {status}."))
    };
    UpstreamError::new("upstream_status", ApiError::new(status, body), true)
}

fn answer_text(req: &ChatCompletionRequest) -> String {
    format!("echo: {}", last_user_text(req))
}

impl Upstream for FakeUpstream {
    fn complete(
        &self,
        request: ChatCompletionRequest,
    ) -> BoxFuture<'static, Result<ChatCompletionResponse, UpstreamError>> {
        self.seen.lock().unwrap().push(request.clone());
        let name = self.name.clone();
        Box::pin(async move {
            let text = last_user_text(&request);
            if text.contains("fail429") {
                return Err(upstream_error(&name, 429));
            }
            if text.contains("fail500") {
                return Err(upstream_error(&name, 500));
            }
            if text.contains("slow") {
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            Ok(ChatCompletionResponse {
                id: "chatcmpl-fake".into(),
                object: "chat.completion".into(),
                created: 1,
                model: request.model.clone(),
                choices: vec![Choice {
                    index: 0,
                    message: ResponseMessage::assistant(Some(answer_text(&request)), vec![]),
                    finish_reason: Some(FinishReason::Stop),
                    logprobs: None,
                }],
                usage: Some(Usage::new(1000, 100)),
                system_fingerprint: None,
            })
        })
    }

    fn stream(
        &self,
        request: ChatCompletionRequest,
    ) -> BoxFuture<'static, Result<ChunkStream, UpstreamError>> {
        self.seen.lock().unwrap().push(request.clone());
        let name = self.name.clone();
        Box::pin(async move {
            let text = last_user_text(&request);
            if text.contains("fail429") {
                return Err(upstream_error(&name, 429));
            }
            if text.contains("slow") {
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            let model = request.model.clone();
            let words: Vec<String> = answer_text(&request)
                .split(' ')
                .map(|w| format!("{w} "))
                .collect();
            let chunk = move |delta: ChunkDelta, finish: Option<FinishReason>| {
                StreamChunk::new(ChatCompletionChunk::with_delta(
                    "chatcmpl-fake",
                    &model,
                    1,
                    delta,
                    finish,
                ))
            };
            let usage_model = request.model.clone();
            let s = async_stream::stream! {
                yield Ok(chunk(ChunkDelta { role: Some(llmgw_types::Role::Assistant), ..Default::default() }, None));
                for (i, w) in words.iter().enumerate() {
                    if i == 1 && text.contains("midfail") {
                        yield Err(UpstreamError::new(
                            "stream_cut",
                            ApiError::new(502, ErrorBody::upstream(format!("Provider `{name}` cut the stream."))),
                            false,
                        ));
                        return;
                    }
                    if i == 1 && text.contains("stall") {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                    }
                    yield Ok(chunk(ChunkDelta { content: Some(w.clone()), ..Default::default() }, None));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                if text.contains("cut") {
                    return;
                }
                yield Ok(chunk(ChunkDelta::default(), Some(FinishReason::Stop)));
                yield Ok(StreamChunk::new(ChatCompletionChunk::usage_only("chatcmpl-fake", &usage_model, 1, Usage::new(1000, 100))));
            };
            let boxed: ChunkStream = Box::pin(s);
            Ok(boxed)
        })
    }
}

/// Predicts `strong` 0.9 and `weak` 0.6 (0.3 when the prompt says "hard").
pub struct FakePredictor;

impl QualityPredictor for FakePredictor {
    fn predict(
        &self,
        text: String,
        _embedding: bool,
    ) -> BoxFuture<'static, Result<Prediction, String>> {
        Box::pin(async move {
            let weak = if text.contains("hard") { 0.3 } else { 0.6 };
            Ok(Prediction {
                difficulty: if text.contains("hard") { 0.8 } else { 0.2 },
                quality: BTreeMap::from([("strong".to_string(), 0.9), ("weak".to_string(), weak)]),
                embedding: None,
                embedding_model: None,
            })
        })
    }

    fn profiles(&self) -> Vec<String> {
        vec!["strong".into(), "weak".into()]
    }
}

pub struct TestGateway {
    pub base: String,
    pub upstreams: BTreeMap<String, Arc<FakeUpstream>>,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    serving: llmgw_server::Serving,
}

impl TestGateway {
    pub async fn start(auto: bool) -> TestGateway {
        Self::start_with(auto, None).await
    }

    pub async fn start_with(
        auto: bool,
        cache: Option<Arc<dyn llmgw_server::ResponseCache>>,
    ) -> TestGateway {
        Self::start_full(auto, cache, None).await
    }

    pub async fn start_full(
        auto: bool,
        cache: Option<Arc<dyn llmgw_server::ResponseCache>>,
        log: Option<llmgw_outcomes::OutcomeLog>,
    ) -> TestGateway {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("llmgw.toml"), CONFIG).unwrap();
        std::fs::write(dir.path().join("catalog.toml"), CATALOG).unwrap();
        let config = Config::load(&dir.path().join("llmgw.toml")).unwrap();
        let mut upstreams = BTreeMap::new();
        let handles: Vec<ProviderHandle> = config
            .providers
            .iter()
            .map(|(name, p)| {
                let up = Arc::new(FakeUpstream {
                    name: name.clone(),
                    ..Default::default()
                });
                upstreams.insert(name.clone(), up.clone());
                ProviderHandle {
                    name: name.clone(),
                    kind: p.kind,
                    simulated: p.kind == ProviderKind::Anthropic,
                    key_status: p.key_status(),
                    api_key_env: p.api_key_env.clone(),
                    upstream: up,
                }
            })
            .collect();
        assert_eq!(config.providers["locked"].key_status(), KeyStatus::Missing);
        let mut builder = Gateway::builder(config, ProviderRegistry::new(handles));
        if auto {
            builder = builder.auto_routing(AutoRouting::enabled(Arc::new(FakePredictor)));
        } else {
            builder = builder.auto_routing(AutoRouting::disabled("no router in /nowhere"));
        }
        if let Some(cache) = cache {
            builder = builder.cache(cache);
        }
        if let Some(log) = log {
            builder = builder.outcome_log(log);
        }
        let gateway = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let serving = gateway.spawn(listener).unwrap();
        let base = serving.base_url();
        TestGateway {
            base,
            upstreams,
            client: reqwest::Client::new(),
            _dir: dir,
            serving,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_raw(&self, path: &str, body: &'static str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Signal shutdown and return the serve task.
    pub fn stop(&mut self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        self.serving.begin_shutdown().unwrap()
    }
}

pub fn chat(model: &str, text: &str) -> serde_json::Value {
    serde_json::json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

/// Assert an OpenAI-shaped error body with `status`, returning the `error` object.
pub async fn expect_error(resp: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status);
    assert!(resp.headers().contains_key("x-llmgw-request-id"));
    let body: serde_json::Value = resp.json().await.unwrap();
    let err = body["error"].clone();
    assert!(err["message"].is_string(), "{body}");
    assert!(err["type"].is_string(), "{body}");
    assert!(
        err.get("param").is_some() && err.get("code").is_some(),
        "{body}"
    );
    err
}

/// Parse an SSE body into its `data:` payloads.
pub fn sse_events(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(str::to_string)
        .collect()
}
