//! The exact cache over HTTP: the simulated OpenAI provider and the gateway run in-process
//! on loopback; the simulator's request counter proves that a hit never went upstream.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use keys::HeaderKeys;
use llmgw_cache::{CacheLimits, ExactCache};
use llmgw_outcomes::{CacheHit, LogConfig, OutcomeLog, OutcomeRecord, WriterHandle};
use llmgw_server::Gateway;
use llmgw_sim::{SimConfig, SimServer};
use serde_json::{json, Value};

const MODEL: &str = "gpt-4o-mini";
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

struct Gw {
    base: String,
    client: reqwest::Client,
    sim: SimServer,
    cache: Arc<ExactCache>,
    log: OutcomeLog,
    writer: Option<WriterHandle>,
    _dir: tempfile::TempDir,
}

struct Seen {
    status: u16,
    cache: String,
    body: String,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    /// The JSON chunks of an SSE body (after checking it ended with `[DONE]`).
    fn chunks(&self) -> Vec<Value> {
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
    fn streamed_text(&self) -> String {
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
    async fn start(limits: CacheLimits, keyed: bool) -> Gw {
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
"#,
            openai = sim.openai_base_url(),
            anthropic = sim.anthropic_base_url(),
            gemini = sim.gemini_base_url(),
        );
        let path = dir.path().join("llmgw.toml");
        std::fs::write(&path, config_text).unwrap();
        let config = llmgw_config::Config::load(&path).unwrap();
        let specs = llmgw_server::resolve_providers(&config, None).unwrap();
        let providers = llmgw_server::connect_providers(&specs, &config.server).unwrap();
        let cache = Arc::new(ExactCache::new(limits));
        let mut log_cfg = LogConfig::new(dir.path().join("log"));
        log_cfg.flush_interval = Duration::from_secs(600);
        let (log, writer) = OutcomeLog::start(log_cfg).unwrap();
        let mut builder = Gateway::builder(config, providers)
            .cache(cache.clone())
            .outcome_log(log.clone());
        if keyed {
            builder = builder.auth(Arc::new(HeaderKeys));
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

    async fn default() -> Gw {
        Gw::start(limits(Duration::from_secs(60)), false).await
    }

    async fn send(&self, body: Value, headers: &[(&str, &str)]) -> Seen {
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
        let body = resp.text().await.unwrap();
        Seen {
            status,
            cache,
            body,
        }
    }

    async fn chat(&self, body: Value) -> Seen {
        self.send(body, &[]).await
    }

    /// The outcome records written so far (waits for `n` of them).
    async fn records(&self, n: usize) -> Vec<Arc<OutcomeRecord>> {
        for _ in 0..200 {
            let recs = self.log.snapshot().outcomes;
            if recs.len() >= n {
                return recs;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("fewer than {n} outcome records");
    }

    async fn close(mut self) {
        if let Some(w) = self.writer.take() {
            w.shutdown().await.unwrap();
        }
    }
}

fn limits(ttl: Duration) -> CacheLimits {
    CacheLimits {
        ttl,
        max_entries: 100,
        max_bytes: 1 << 20,
    }
}

fn body(text: &str) -> Value {
    json!({"model": MODEL, "messages": [{"role": "user", "content": text}]})
}

fn streamed(text: &str) -> Value {
    let mut b = body(text);
    b["stream"] = json!(true);
    b["stream_options"] = json!({"include_usage": true});
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_is_a_hit_that_never_reaches_upstream_and_costs_nothing() {
    let gw = Gw::default().await;
    let first = gw.chat(body("What is the capital of France?")).await;
    assert_eq!((first.status, first.cache.as_str()), (200, "miss"));
    let second = gw.chat(body("What is the capital of France?")).await;
    assert_eq!((second.status, second.cache.as_str()), (200, "hit"));
    assert_eq!(gw.sim.requests_seen(), 1, "the hit did not go upstream");
    assert_eq!(first.json()["choices"], second.json()["choices"]);
    assert_eq!(second.json()["model"], MODEL);
    assert!(
        second.json()["usage"]["completion_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );

    let recs = gw.records(2).await;
    let (hits, misses): (Vec<_>, Vec<_>) =
        recs.iter().partition(|r| r.cache_hit == CacheHit::Exact);
    assert_eq!((hits.len(), misses.len()), (1, 1));
    assert_eq!(hits[0].cost_usd, Some(0.0), "a hit costs nothing");
    assert!(misses[0].cost_usd.unwrap() > 0.0);
    assert_eq!(misses[0].cache_hit, CacheHit::None);
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_parameters_messages_or_models_miss() {
    let gw = Gw::default().await;
    let base = body("Name a colour, as JSON.");
    assert_eq!(gw.chat(base.clone()).await.cache, "miss");
    let mut variants = Vec::new();
    for (k, v) in [
        ("temperature", json!(0.3)),
        ("max_tokens", json!(50)),
        ("seed", json!(42)),
        ("response_format", json!({"type": "json_object"})),
        ("model", json!("gpt-4o")),
    ] {
        let mut b = base.clone();
        b[k] = v;
        variants.push(b);
    }
    let mut with_system = base.clone();
    with_system["messages"] = json!([
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Name a colour, as JSON."}
    ]);
    variants.push(with_system);
    for b in &variants {
        let seen = gw.chat(b.clone()).await;
        assert_eq!((seen.status, seen.cache.as_str()), (200, "miss"), "{b}");
    }
    assert_eq!(gw.sim.requests_seen(), 1 + variants.len() as u64);
    // Each variant is now cached on its own.
    assert_eq!(gw.chat(variants[0].clone()).await.cache, "hit");
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_never_see_each_others_answers() {
    let gw = Gw::start(limits(Duration::from_secs(60)), true).await;
    let q = body("What did I ask you yesterday?");
    let a = [("authorization", "Bearer key_a")];
    let b = [("authorization", "Bearer key_b")];
    assert_eq!(gw.send(q.clone(), &a).await.cache, "miss");
    assert_eq!(gw.send(q.clone(), &b).await.cache, "miss");
    assert_eq!(
        gw.send(q.clone(), &[]).await.cache,
        "miss",
        "open callers too"
    );
    assert_eq!(gw.send(q.clone(), &a).await.cache, "hit");
    assert_eq!(gw.send(q, &b).await.cache, "hit");
    assert_eq!(gw.sim.requests_seen(), 3);
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_and_plain_requests_replay_each_others_answers() {
    let gw = Gw::default().await;
    // Plain first, then a stream replays it, usage on the last chunk.
    let plain = gw.chat(body("Tell me a fact about owls.")).await;
    assert_eq!(plain.cache, "miss");
    let replay = gw.chat(streamed("Tell me a fact about owls.")).await;
    assert_eq!((replay.status, replay.cache.as_str()), (200, "hit"));
    assert_eq!(
        replay.streamed_text(),
        plain.json()["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
    );
    let chunks = replay.chunks();
    let last = chunks.last().unwrap();
    assert_eq!(
        last["usage"],
        plain.json()["usage"],
        "usage on the last chunk"
    );
    assert!(chunks.iter().all(|c| c["model"] == MODEL));

    // A stream first: stored once it completed, then a plain request replays it.
    let live = gw.chat(streamed("Tell me a fact about bats.")).await;
    assert_eq!((live.status, live.cache.as_str()), (200, "miss"));
    let plain = gw.chat(body("Tell me a fact about bats.")).await;
    assert_eq!(plain.cache, "hit");
    assert_eq!(
        plain.json()["choices"][0]["message"]["content"]
            .as_str()
            .unwrap(),
        live.streamed_text()
    );
    assert_eq!(plain.json()["choices"][0]["finish_reason"], "stop");
    // Without include_usage the replayed stream carries no usage.
    let mut no_usage = streamed("Tell me a fact about bats.");
    no_usage.as_object_mut().unwrap().remove("stream_options");
    let replay = gw.chat(no_usage).await;
    assert_eq!(replay.cache, "hit");
    assert!(replay
        .chunks()
        .iter()
        .all(|c| c.get("usage").is_none_or(Value::is_null)));
    assert_eq!(gw.sim.requests_seen(), 2);
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_cut_answers_are_never_cached() {
    let gw = Gw::default().await;
    let cut = streamed("Count to ten. [[sim:cut_after=2]]");
    let first = gw.chat(cut.clone()).await;
    assert!(first.body.contains("\"error\""), "{}", first.body);
    assert!(!first.body.contains("[DONE]"));
    assert_eq!(
        gw.chat(cut).await.cache,
        "miss",
        "a cut stream was not stored"
    );

    let failing = body("Hello [[sim:status=400]]");
    let first = gw.chat(failing.clone()).await;
    assert_eq!((first.status, first.cache.as_str()), (400, "miss"));
    assert_eq!(
        gw.chat(failing).await.cache,
        "miss",
        "an error was not stored"
    );
    assert_eq!(gw.cache.stats().entries, 0);
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_flag_or_cache_control_bypasses_the_cache() {
    let gw = Gw::default().await;
    let q = body("Bypass me.");
    let mut off = q.clone();
    off["cache"] = json!(false);
    let seen = gw.chat(off.clone()).await;
    assert_eq!((seen.status, seen.cache.as_str()), (200, "bypass"));
    assert_eq!(
        gw.cache.stats().entries,
        0,
        "a bypassed answer is not stored"
    );
    assert_eq!(gw.chat(q.clone()).await.cache, "miss");
    // Now cached, but still bypassed on request.
    assert_eq!(gw.chat(off).await.cache, "bypass");
    let seen = gw.send(q.clone(), &[("cache-control", "no-cache")]).await;
    assert_eq!((seen.status, seen.cache.as_str()), (200, "bypass"));
    assert_eq!(gw.sim.requests_seen(), 4, "every bypass went upstream");
    assert_eq!(gw.chat(q.clone()).await.cache, "hit");

    let mut bad = q;
    bad["cache"] = json!("sometimes");
    let seen = gw.chat(bad).await;
    assert_eq!(seen.status, 400);
    assert_eq!(seen.json()["error"]["param"], "cache");
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_expire_after_the_ttl() {
    let gw = Gw::start(limits(Duration::from_millis(300)), false).await;
    assert_eq!(gw.chat(body("Short-lived.")).await.cache, "miss");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(gw.chat(body("Short-lived.")).await.cache, "miss");
    assert_eq!(gw.sim.requests_seen(), 2);
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_bound_evicts_over_http() {
    // Measure what the two answers weigh in the cache.
    let probe = Gw::default().await;
    probe.chat(body("Size probe one.")).await;
    let one = probe.cache.stats().bytes;
    probe.chat(body("Size probe two.")).await;
    let two = probe.cache.stats().bytes - one;
    probe.close().await;
    // Room for the larger of the two, not for both.
    let max_bytes = one.max(two) + one.min(two) / 2;
    let gw = Gw::start(
        CacheLimits {
            ttl: Duration::from_secs(60),
            max_entries: 100,
            max_bytes,
        },
        false,
    )
    .await;
    assert_eq!(gw.chat(body("Size probe one.")).await.cache, "miss");
    assert_eq!(gw.chat(body("Size probe two.")).await.cache, "miss");
    let stats = gw.cache.stats();
    assert_eq!((stats.entries, stats.evictions), (1, 1));
    assert!(stats.bytes <= max_bytes);
    assert_eq!(gw.chat(body("Size probe two.")).await.cache, "hit");
    assert_eq!(
        gw.chat(body("Size probe one.")).await.cache,
        "miss",
        "evicted"
    );
    gw.close().await;
}
