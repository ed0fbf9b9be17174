//! `GET /v1/analytics/spend`, `GET /v1/analytics/overview` and `GET /dashboard` over HTTP,
//! with traffic sent through the gateway to the simulated providers: the numbers match the
//! answers the clients received, before and after the outcome log flushes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use llmgw_governance::KeyHash;
use llmgw_server::{AutoRouting, Gateway, Prediction, QualityPredictor};
use llmgw_sim::{SimConfig, SimServer};
use serde_json::{json, Value};

const K1: &str = "sk-llmgw-analytics-key-one-000001";
const K2: &str = "sk-llmgw-analytics-key-two-000002";
const PROVIDER_KEY_ENV: &str = "LLMGW_ANALYTICS_TEST_PROVIDER_KEY";
const ADMIN: &str = "sk-llmgw-analytics-admin-key-0003";

/// (input, output, cached input) USD per 1M tokens, as in [`CATALOG`].
fn prices(model: &str) -> (f64, f64, f64) {
    match model {
        "cheap" => (1.0, 2.0, 0.5),
        "pricey" => (10.0, 30.0, 5.0),
        "claude" => (3.0, 15.0, 3.0),
        other => panic!("unknown model {other}"),
    }
}

const CATALOG: &str = r#"
[[model]]
id = "cheap"
provider = "simoa"
input_per_mtok = 1.0
output_per_mtok = 2.0
cached_input_per_mtok = 0.5
context_window = 8000

[[model]]
id = "pricey"
provider = "simoa"
input_per_mtok = 10.0
output_per_mtok = 30.0
cached_input_per_mtok = 5.0
context_window = 8000

[[model]]
id = "claude"
provider = "simant"
input_per_mtok = 3.0
output_per_mtok = 15.0
context_window = 8000
"#;

/// "hard" prompts: difficulty 0.85, only `pricey` reaches the bar; others 0.25, `cheap` does.
struct Predictor;

impl QualityPredictor for Predictor {
    fn predict(
        &self,
        text: String,
        _embedding: bool,
    ) -> BoxFuture<'static, Result<Prediction, String>> {
        Box::pin(async move {
            let hard = text.contains("hard");
            Ok(Prediction {
                difficulty: if hard { 0.85 } else { 0.25 },
                quality: BTreeMap::from([
                    ("cheap".to_string(), if hard { 0.3 } else { 0.9 }),
                    ("pricey".to_string(), 0.95),
                    ("claude".to_string(), 0.1),
                ]),
                embedding: None,
                embedding_model: None,
            })
        })
    }

    fn profiles(&self) -> Vec<String> {
        vec!["cheap".into(), "pricey".into(), "claude".into()]
    }
}

struct Gw {
    base: String,
    client: reqwest::Client,
    log: Option<llmgw_outcomes::OutcomeLog>,
    writer: Option<llmgw_outcomes::WriterHandle>,
    serving: llmgw_server::Serving,
    _sim: SimServer,
    _dir: tempfile::TempDir,
}

async fn start(with_keys: bool, with_log: bool) -> Gw {
    std::env::set_var(PROVIDER_KEY_ENV, "sim-provider-key-for-analytics");
    let sim = SimServer::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.toml"), CATALOG).unwrap();
    let keys = if with_keys {
        format!(
            "[[keys]]\nid = \"k1\"\nhash = \"{}\"\n\n[[keys]]\nid = \"k2\"\nhash = \"{}\"\n\n[admin]\nkey_hash = \"{}\"\n",
            KeyHash::of(K1),
            KeyHash::of(K2),
            KeyHash::of(ADMIN)
        )
    } else {
        String::new()
    };
    let config = format!(
        r#"
catalog = "catalog.toml"

[providers.simoa]
kind = "openai"
base_url = "{openai}"
api_key_env = "{env}"

[providers.simant]
kind = "anthropic"
base_url = "{anthropic}"
api_key_env = "{env}"

[routing]
default_policy = "bar"

[routing.policies.bar]
min_quality = 0.8

[reliability]
max_attempts = 1

{keys}
"#,
        openai = sim.openai_base_url(),
        anthropic = sim.anthropic_base_url(),
        env = PROVIDER_KEY_ENV,
    );
    let path = dir.path().join("llmgw.toml");
    std::fs::write(&path, config).unwrap();
    let config = llmgw_config::Config::load(&path).unwrap();
    let specs = llmgw_server::resolve_providers(&config, None).unwrap();
    let providers = llmgw_server::connect_providers(&specs, &config.server).unwrap();
    let mut builder = Gateway::builder(config, providers)
        .auto_routing(AutoRouting::enabled(Arc::new(Predictor)))
        .cache(Arc::new(llmgw_cache::MemoryCache::new(
            llmgw_cache::CacheLimits::from(&llmgw_config::CacheConfig::default()),
        )));
    let (log, writer) = if with_log {
        let mut cfg = llmgw_outcomes::LogConfig::new(dir.path().join("log"));
        cfg.flush_interval = Duration::from_secs(600);
        let (log, writer) = llmgw_outcomes::OutcomeLog::start(cfg).unwrap();
        builder = builder.outcome_log(log.clone());
        (Some(log), Some(writer))
    } else {
        (None, None)
    };
    let gateway = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let serving = gateway.spawn(listener).unwrap();
    let base = serving.base_url();
    Gw {
        base,
        client: reqwest::Client::new(),
        log,
        writer,
        serving,
        _sim: sim,
        _dir: dir,
    }
}

impl Gw {
    async fn get(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn chat(&self, key: Option<&str>, body: Value) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/v1/chat/completions", self.base))
            .json(&body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send().await.unwrap()
    }

    async fn stop(mut self) {
        self.serving
            .shutdown(Duration::from_secs(10))
            .await
            .unwrap();
        if let Some(w) = self.writer.take() {
            let stats = w.shutdown().await.unwrap();
            assert_eq!(stats.dropped, 0);
        }
    }
}

/// What one group should show, summed from the answers the client received.
#[derive(Debug, Default, Clone, PartialEq)]
struct Expect {
    requests: u64,
    errors: u64,
    prompt: u64,
    completion: u64,
    cost: f64,
    reference: f64,
    hits: u64,
}

impl Expect {
    fn add(&mut self, model: Option<&str>, usage: Option<(u64, u64, u64)>, hit: bool, ok: bool) {
        self.requests += 1;
        if !ok {
            self.errors += 1;
        }
        if hit {
            self.hits += 1;
        }
        if let (Some(m), Some((p, c, cached))) = (model, usage) {
            self.prompt += p;
            self.completion += c;
            let price = |(i, o, ci): (f64, f64, f64)| {
                ((p - cached) as f64 * i + cached as f64 * ci + c as f64 * o) / 1e6
            };
            if !hit {
                self.cost += price(prices(m));
            }
            self.reference += price(prices("pricey"));
        }
    }

    fn check(&self, got: &Value, what: &str) {
        assert_eq!(got["requests"], json!(self.requests), "{what}: {got}");
        assert_eq!(got["errors"], json!(self.errors), "{what}: {got}");
        assert_eq!(got["prompt_tokens"], json!(self.prompt), "{what}: {got}");
        assert_eq!(
            got["completion_tokens"],
            json!(self.completion),
            "{what}: {got}"
        );
        assert_eq!(
            got["cache_hits"]["exact"],
            json!(self.hits),
            "{what}: {got}"
        );
        let close = |k: &str, v: f64| {
            let g = got[k].as_f64().unwrap();
            assert!((g - v).abs() < 1e-12, "{what}: {k} {g} != {v}");
        };
        close("cost_usd", self.cost);
        close("reference_cost_usd", self.reference);
        close("savings_usd", self.reference - self.cost);
    }
}

fn usage_of(body: &Value) -> (u64, u64, u64) {
    let u = &body["usage"];
    (
        u["prompt_tokens"].as_u64().unwrap(),
        u["completion_tokens"].as_u64().unwrap(),
        u["prompt_tokens_details"]["cached_tokens"]
            .as_u64()
            .unwrap_or(0),
    )
}

/// Sends the test traffic; returns the expected numbers by model, by key and in total.
async fn traffic(
    gw: &Gw,
) -> (
    BTreeMap<Option<String>, Expect>,
    BTreeMap<String, Expect>,
    Expect,
) {
    let mut by_model: BTreeMap<Option<String>, Expect> = BTreeMap::new();
    let mut by_key: BTreeMap<String, Expect> = BTreeMap::new();
    let mut total = Expect::default();
    let requests: Vec<(&str, &str, Value)> = vec![
        (
            "k1",
            K1,
            json!({"model": "cheap", "messages": [{"role": "user", "content": "Name a colour. [[sim:tokens=12]]"}]}),
        ),
        (
            "k1",
            K1,
            json!({"model": "cheap", "messages": [{"role": "user", "content": "Name a colour. [[sim:tokens=12]]"}]}),
        ),
        (
            "k1",
            K1,
            json!({"model": "pricey", "messages": [{"role": "user", "content": "Long context please [[sim:cached_tokens=6]] [[sim:tokens=30]]"}]}),
        ),
        (
            "k1",
            K1,
            json!({"model": "cheap", "messages": [{"role": "user", "content": "[[sim:status=400]] broken"}]}),
        ),
        (
            "k2",
            K2,
            json!({"model": "auto", "messages": [{"role": "user", "content": "an easy one [[sim:tokens=9]]"}]}),
        ),
        (
            "k2",
            K2,
            json!({"model": "auto", "messages": [{"role": "user", "content": "a hard proof [[sim:tokens=40]]"}]}),
        ),
        (
            "k2",
            K2,
            json!({"model": "claude", "messages": [{"role": "user", "content": "Hello there [[sim:tokens=7]]"}]}),
        ),
        (
            "k2",
            K2,
            json!({"model": "cheap", "stream": true, "stream_options": {"include_usage": true},
                          "messages": [{"role": "user", "content": "Stream it [[sim:tokens=15]]"}]}),
        ),
    ];
    for (id, key, body) in requests {
        let stream = body["stream"] == json!(true);
        let resp = gw.chat(Some(key), body).await;
        let ok = resp.status().is_success();
        let hit = resp
            .headers()
            .get("x-llmgw-cache")
            .map(|v| v.to_str().unwrap())
            == Some("hit");
        let text = resp.text().await.unwrap();
        let (model, usage) = if !ok {
            (None, None)
        } else if stream {
            let last = text
                .split("\n\n")
                .filter_map(|e| e.strip_prefix("data: "))
                .filter(|d| *d != "[DONE]")
                .map(|d| serde_json::from_str::<Value>(d).unwrap())
                .find(|c| c["usage"].is_object())
                .expect("a usage chunk");
            (
                Some(last["model"].as_str().unwrap().to_string()),
                Some(usage_of(&last)),
            )
        } else {
            let v: Value = serde_json::from_str(&text).unwrap();
            (
                Some(v["model"].as_str().unwrap().to_string()),
                Some(usage_of(&v)),
            )
        };
        // A failed named request still has its model in the log.
        let group = if ok {
            model.clone()
        } else {
            Some("cheap".to_string())
        };
        by_model
            .entry(group)
            .or_default()
            .add(model.as_deref(), usage, hit, ok);
        by_key
            .entry(id.to_string())
            .or_default()
            .add(model.as_deref(), usage, hit, ok);
        total.add(model.as_deref(), usage, hit, ok);
    }
    (by_model, by_key, total)
}

/// Polls the spend report until it holds `n` requests (records pass the log's queue).
async fn spend_when(gw: &Gw, query: &str, key: &str, n: u64) -> Value {
    for _ in 0..200 {
        let (status, body) = gw
            .get(&format!("/v1/analytics/spend?{query}"), Some(key))
            .await;
        assert_eq!(status, 200, "{body}");
        if body["totals"]["requests"] == json!(n) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the analytics never showed {n} requests");
}

fn check_groups(report: &Value, expected: &BTreeMap<Option<String>, Expect>) {
    let data = report["data"].as_array().unwrap();
    let groups: Vec<Option<String>> = data
        .iter()
        .map(|g| g["group"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        groups,
        expected.keys().cloned().collect::<Vec<_>>(),
        "{report}"
    );
    for g in data {
        let key = g["group"].as_str().map(str::to_string);
        expected[&key].check(g, &format!("group {key:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spend_matches_the_traffic_before_and_after_the_log_flushes() {
    let gw = start(true, true).await;
    let (by_model, by_key, total) = traffic(&gw).await;
    assert_eq!(total.hits, 1, "the repeated question is a cache hit");
    assert!(by_model.contains_key(&Some("pricey".to_string())));

    let before = spend_when(&gw, "group_by=model", ADMIN, total.requests).await;
    assert_eq!(before["access"], "admin");
    assert_eq!(before["reference"]["model"], "pricey");
    assert_eq!(before["reference"]["source"], "most_expensive");
    assert_eq!(before["sources"]["files"], 0);
    total.check(&before["totals"], "totals before flush");
    check_groups(&before, &by_model);
    let keys = spend_when(&gw, "group_by=key", ADMIN, total.requests).await;
    let by_key_opt: BTreeMap<Option<String>, Expect> = by_key
        .iter()
        .map(|(k, v)| (Some(k.clone()), v.clone()))
        .collect();
    check_groups(&keys, &by_key_opt);

    gw.log.as_ref().unwrap().flush().await.unwrap();
    let after = spend_when(&gw, "group_by=model", ADMIN, total.requests).await;
    assert!(after["sources"]["files"].as_u64().unwrap() >= 1, "{after}");
    assert_eq!(after["sources"]["pending_rows"], 0);
    assert_eq!(before["data"], after["data"]);
    assert_eq!(before["totals"], after["totals"]);

    // A gateway key sees its own rows only, whatever the grouping.
    let mine = spend_when(&gw, "group_by=key", K1, by_key["k1"].requests).await;
    assert_eq!(mine["access"], "key");
    assert_eq!(mine["api_key_id"], "k1");
    assert_eq!(mine["data"].as_array().unwrap().len(), 1);
    by_key["k1"].check(&mine["totals"], "k1 totals");
    let theirs = spend_when(&gw, "group_by=model", K2, by_key["k2"].requests).await;
    by_key["k2"].check(&theirs["totals"], "k2 totals");

    // Time groups: today's day and hour hold everything.
    let day = spend_when(&gw, "group_by=day", ADMIN, total.requests).await;
    assert_eq!(day["data"].as_array().unwrap().len(), 1);
    total.check(&day["data"][0], "the day");
    let hour = spend_when(&gw, "group_by=hour&from=2000-01-01", ADMIN, total.requests).await;
    let hours: u64 = hour["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(hours, total.requests);
    // A range in the past is empty.
    let (_, old) = gw
        .get(
            "/v1/analytics/spend?from=2000-01-01&to=2000-01-02",
            Some(ADMIN),
        )
        .await;
    assert_eq!(old["totals"]["requests"], 0);
    assert_eq!(old["data"], json!([]));

    // The overview: routing by difficulty, model mix and timeline agree with the spend.
    let (status, o) = gw
        .get("/v1/analytics/overview?bucket=minute", Some(ADMIN))
        .await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["totals"], after["totals"]);
    assert_eq!(o["models"], after["data"]);
    let routing: Vec<(u64, String, u64)> = o["routing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["bin"].as_u64().unwrap(),
                c["model"].as_str().unwrap().to_string(),
                c["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        routing,
        [(2, "cheap".to_string(), 1), (8, "pricey".to_string(), 1)]
    );
    let timeline_requests: u64 = o["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(timeline_requests, total.requests);
    assert!(o["totals"]["latency_ms"]["p50"].as_f64().unwrap() > 0.0);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_and_bad_parameters_get_openai_shaped_errors() {
    let gw = start(true, true).await;
    let (status, body) = gw.get("/v1/analytics/spend", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = gw.get("/v1/analytics/overview", Some("sk-not-a-key")).await;
    assert_eq!(status, 401);
    for (query, param) in [
        ("group_by=week", "group_by"),
        ("from=yesterday", "from"),
        ("to=2026-13-40", "to"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("reference_model=nope", "reference_model"),
        ("colour=blue", "colour"),
        ("group_by=model&group_by=key", "group_by"),
    ] {
        let (status, body) = gw
            .get(&format!("/v1/analytics/spend?{query}"), Some(ADMIN))
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["param"], param, "{query}: {body}");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(param),
            "{body}"
        );
    }
    let (status, body) = gw.get("/v1/analytics/overview?bucket=week", Some(K1)).await;
    assert_eq!(
        (status, body["error"]["param"].clone()),
        (400, json!("bucket"))
    );
    // A reference model named in the request is used and reported.
    let (status, body) = gw
        .get("/v1/analytics/spend?reference_model=claude", Some(ADMIN))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["reference"]["model"], "claude");
    assert_eq!(body["reference"]["source"], "request");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_gateway_shows_everything_and_no_log_is_a_clear_error() {
    let open = start(false, true).await;
    let resp = open
        .chat(None, json!({"model": "cheap", "messages": [{"role": "user", "content": "hi [[sim:tokens=3]]"}]}))
        .await;
    assert!(resp.status().is_success());
    let body = spend_when(&open, "group_by=provider", "anything", 1).await;
    assert_eq!(body["access"], "open");
    assert!(body["note"].as_str().unwrap().contains("open"));
    assert_eq!(body["data"][0]["group"], "simoa");
    let page = open
        .client
        .get(format!("{}/dashboard", open.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("/v1/analytics/overview") && html.contains("chart-routing"));
    assert!(
        !html.contains("<script src") && !html.contains("<link"),
        "the page loads nothing from elsewhere"
    );
    open.stop().await;

    let nolog = start(false, false).await;
    let (status, body) = nolog.get("/v1/analytics/overview", None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "outcome_log_disabled");
    nolog.stop().await;
}
