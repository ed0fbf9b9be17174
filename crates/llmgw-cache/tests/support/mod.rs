//! A gateway with an in-memory cache in front of the simulated providers, on loopback, with
//! an outcome log; and the helpers the cache's HTTP tests share.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use keys::HeaderKeys;
use llmgw_cache::{CacheLimits, MemoryCache};
use llmgw_outcomes::{LogConfig, OutcomeLog, OutcomeRecord, WriterHandle};
use llmgw_server::{AutoRouting, Gateway};
use llmgw_sim::{SimConfig, SimServer};
use serde_json::{json, Value};

pub const MODEL: &str = "gpt-4o-mini";
/// The shipped router (its encoder: `models/encoder/all-MiniLM-L6-v2`).
pub const ROUTER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/router");
const KEY_ENV: &str = "LLMGW_CACHE_TEST_OPENAI_KEY";

/// An authenticator for the tests: `authorization: Bearer <id>` makes the caller key `<id>`.
mod keys {
    use llmgw_server::{Authenticator, Caller};
    use llmgw_types::ApiError;

    pub struct HeaderKeys;

    impl Authenticator for HeaderKeys {
        fn authenticate(&self, headers: &reqwest::header::HeaderMap) -> Result<Caller, ApiError> {
            let key = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_string);
            Ok(Caller {
                key_id: key.clone(),
                tenant: key,
            })
        }
        fn is_open(&self) -> bool {
            false
        }
    }
}

pub struct Gw {
    pub base: String,
    pub client: reqwest::Client,
    pub sim: SimServer,
    pub cache: Arc<MemoryCache>,
    pub log: OutcomeLog,
    writer: Option<WriterHandle>,
    _dir: tempfile::TempDir,
}

/// How a test gateway is set up.
pub struct Setup {
    /// The cache's limits.
    pub limits: CacheLimits,
    /// `authorization: Bearer <id>` makes the caller key `<id>`.
    pub keyed: bool,
    /// The `[cache]` section's `semantic` and `similarity_threshold`.
    pub semantic: Option<(bool, f64)>,
    /// Auto routing (and the encoder the semantic cache uses).
    pub auto: Option<AutoRouting>,
}

impl Setup {
    pub fn new(limits: CacheLimits) -> Setup {
        Setup {
            limits,
            keyed: false,
            semantic: None,
            auto: None,
        }
    }
}

pub struct Seen {
    pub status: u16,
    pub cache: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Seen {
    /// A response header as text (`""` when absent).
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    /// The JSON chunks of an SSE body (after checking it ended with `[DONE]`).
    pub fn chunks(&self) -> Vec<Value> {
        let events: Vec<&str> = self
            .body
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .collect();
        assert_eq!(events.last(), Some(&"[DONE]"), "{}", self.body);
        events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect()
    }
    pub fn streamed_text(&self) -> String {
        self.chunks()
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect()
    }
}

impl Gw {
    pub async fn start(limits: CacheLimits, keyed: bool) -> Gw {
        let mut setup = Setup::new(limits);
        setup.keyed = keyed;
        Gw::start_with(setup).await
    }

    pub async fn start_with(setup: Setup) -> Gw {
        let Setup {
            limits,
            keyed,
            semantic,
            auto,
        } = setup;
        std::env::set_var(KEY_ENV, "sk-cache-test-FAKE");
        let sim = SimServer::start(SimConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/catalog.toml");
        let config_text = format!(
            r#"
catalog = "{catalog}"

[server]
first_token_timeout_secs = 2
request_timeout_secs = 5

[providers.openai]
kind = "openai"
base_url = "{openai}"
api_key_env = "{KEY_ENV}"

[providers.anthropic]
kind = "anthropic"
base_url = "{anthropic}"
api_key_env = "{KEY_ENV}"

[providers.gemini]
kind = "gemini"
base_url = "{gemini}"
api_key_env = "{KEY_ENV}"

[providers.together]
kind = "openai"
base_url = "{openai}"
api_key_env = "{KEY_ENV}"

[providers.nvidia]
kind = "openai"
base_url = "{openai}"
api_key_env = "{KEY_ENV}"
{cache_section}
"#,
            cache_section = semantic.map_or(String::new(), |(on, t)| format!(
                "[cache]\nenabled = true\nsemantic = {on}\nsimilarity_threshold = {t}\n"
            )),
            openai = sim.openai_base_url(),
            anthropic = sim.anthropic_base_url(),
            gemini = sim.gemini_base_url(),
        );
        let path = dir.path().join("llmgw.toml");
        std::fs::write(&path, config_text).unwrap();
        let config = llmgw_config::Config::load(&path).unwrap();
        let specs = llmgw_server::resolve_providers(&config, None).unwrap();
        let providers = llmgw_server::connect_providers(&specs, &config.server).unwrap();
        let cache = Arc::new(MemoryCache::new(limits));
        let mut log_cfg = LogConfig::new(dir.path().join("log"));
        log_cfg.flush_interval = Duration::from_secs(600);
        let (log, writer) = OutcomeLog::start(log_cfg).unwrap();
        let mut builder = Gateway::builder(config, providers)
            .cache(cache.clone())
            .outcome_log(log.clone());
        if keyed {
            builder = builder.auth(Arc::new(HeaderKeys));
        }
        if let Some(auto) = auto {
            builder = builder.auto_routing(auto);
        }
        let gateway = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(gateway.serve(listener, std::future::pending()));
        Gw {
            base,
            client: reqwest::Client::new(),
            sim,
            cache,
            log,
            writer: Some(writer),
            _dir: dir,
        }
    }

    pub async fn default() -> Gw {
        Gw::start(limits(Duration::from_secs(60)), false).await
    }

    pub async fn send(&self, body: Value, headers: &[(&str, &str)]) -> Seen {
        let mut req = self
            .client
            .post(format!("{}/v1/chat/completions", self.base))
            .json(&body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let cache = resp
            .headers()
            .get("x-llmgw-cache")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap();
        Seen {
            status,
            cache,
            headers,
            body,
        }
    }

    pub async fn chat(&self, body: Value) -> Seen {
        self.send(body, &[]).await
    }

    /// The outcome records written so far (waits for `n` of them).
    pub async fn records(&self, n: usize) -> Vec<Arc<OutcomeRecord>> {
        for _ in 0..200 {
            let recs = self.log.snapshot().outcomes;
            if recs.len() >= n {
                return recs;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("fewer than {n} outcome records");
    }

    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn close(mut self) {
        if let Some(w) = self.writer.take() {
            w.shutdown().await.unwrap();
        }
    }
}

pub fn limits(ttl: Duration) -> CacheLimits {
    CacheLimits {
        ttl,
        max_entries: 100,
        max_bytes: 1 << 20,
    }
}

pub fn body(text: &str) -> Value {
    json!({"model": MODEL, "messages": [{"role": "user", "content": text}]})
}

pub fn streamed(text: &str) -> Value {
    let mut b = body(text);
    b["stream"] = json!(true);
    b["stream_options"] = json!({"include_usage": true});
    b
}

/// The shipped router behind the predictor seam, as the gateway runs it, counting the
/// prompts it scores (each is one encoder pass).
pub struct CountingPredictor {
    inner: llmgw_server::ClassifierPredictor,
    pub calls: std::sync::atomic::AtomicUsize,
    /// Calls that asked for the sentence embedding too (all encoder layers).
    pub embedding_calls: std::sync::atomic::AtomicUsize,
}

impl CountingPredictor {
    pub fn load() -> Arc<CountingPredictor> {
        let router = llmgw_classifier::Router::load(std::path::Path::new(ROUTER_DIR)).unwrap();
        Arc::new(CountingPredictor {
            inner: llmgw_server::ClassifierPredictor::new(router),
            calls: Default::default(),
            embedding_calls: Default::default(),
        })
    }

    pub fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn embedding_calls(&self) -> usize {
        self.embedding_calls
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl llmgw_server::QualityPredictor for CountingPredictor {
    fn predict(
        &self,
        text: String,
        embedding: bool,
    ) -> futures::future::BoxFuture<'static, Result<llmgw_server::Prediction, String>> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if embedding {
            self.embedding_calls
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        self.inner.predict(text, embedding)
    }

    fn profiles(&self) -> Vec<String> {
        self.inner.profiles()
    }
}
