#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Two gateway instances sharing one real Redis, as behind a load balancer: an answer cached
//! through one is a hit on the other, a budget spent through one is refused on the other, a
//! rate limit counts requests to both, and when Redis goes away every request still ends
//! with a clear answer.

mod support;

use std::time::{Duration, Instant};

use llmgw_governance::KeyHash;
use llmgw_server::Gateway;
use llmgw_sim::{SimConfig, SimServer};
use serde_json::{json, Value};
use support::RedisServer;

const TEAM_KEY: &str = "sk-llmgw-shared-team-key-00000001";
const OTHER_KEY: &str = "sk-llmgw-shared-other-key-0000002";
const THRIFTY_KEY: &str = "sk-llmgw-shared-thrifty-key-00003";
const SLOW_KEY: &str = "sk-llmgw-shared-slow-key-00000004";
const PROVIDER_KEY_ENV: &str = "LLMGW_REDIS_TEST_PROVIDER_KEY";

const CATALOG: &str = r#"
[[model]]
id = "cheap"
provider = "simoa"
upstream = "cheap-up"
input_per_mtok = 100.0
output_per_mtok = 200.0
context_window = 8000
max_output_tokens = 100
"#;

fn config_text(sim: &SimServer, redis_url: &str, on_error: &str) -> String {
    format!(
        r#"
catalog = "catalog.toml"

[server]
request_timeout_secs = 5

[providers.simoa]
kind = "openai"
base_url = "{openai}"
api_key_env = "{env}"

[cache]
enabled = true
backend = "redis"
ttl_seconds = 60

[shared_state]
redis_url = "{redis_url}"
prefix = "gwtest"
timeout_ms = 200
counters = "redis"
on_counter_error = "{on_error}"

[[keys]]
id = "team"
hash = "{team}"

[[keys]]
id = "other"
hash = "{other}"

[[keys]]
id = "thrifty"
hash = "{thrifty}"
daily_budget_usd = 0.004

[[keys]]
id = "slow"
hash = "{slow}"
requests_per_minute = 3
"#,
        openai = sim.openai_base_url(),
        env = PROVIDER_KEY_ENV,
        team = KeyHash::of(TEAM_KEY),
        other = KeyHash::of(OTHER_KEY),
        thrifty = KeyHash::of(THRIFTY_KEY),
        slow = KeyHash::of(SLOW_KEY),
    )
}

struct Instance {
    base: String,
    gateway: Gateway,
    serving: llmgw_server::Serving,
}

/// One `llmgw serve` as the binary assembles it: config → providers → shared state → gateway.
async fn instance(dir: &std::path::Path, config: &str) -> Instance {
    std::env::set_var(PROVIDER_KEY_ENV, "sim-provider-key-never-shown");
    std::fs::write(dir.join("catalog.toml"), CATALOG).unwrap();
    let path = dir.join("llmgw.toml");
    std::fs::write(&path, config).unwrap();
    let config = llmgw_config::Config::load(&path).unwrap();
    let specs = llmgw_server::resolve_providers(&config, None).unwrap();
    let providers = llmgw_server::connect_providers(&specs, &config.server).unwrap();
    let shared = llmgw_redis::SharedState::from_config(&config)
        .unwrap()
        .expect("the config puts counters and cache in Redis");
    assert!(shared.counters.is_some() && shared.cache.is_some());
    let builder = shared
        .install(Gateway::builder(config.clone(), providers), &config)
        .unwrap();
    let gateway = builder.build();
    gateway
        .state()
        .metrics
        .add_collector(Box::new(shared.metrics().unwrap()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let serving = gateway.clone().spawn(listener).unwrap();
    let base = serving.base_url();
    Instance {
        base,
        gateway,
        serving,
    }
}

impl Instance {
    async fn chat(&self, key: &str, text: &str, stream: bool) -> Seen {
        let body = json!({
            "model": "cheap",
            "messages": [{"role": "user", "content": text}],
            "stream": stream,
        });
        let started = Instant::now();
        let resp = reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", self.base))
            .bearer_auth(key)
            .json(&body)
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap();
        Seen {
            status,
            headers,
            body,
            elapsed: started.elapsed(),
        }
    }

    /// The value of the series `name` (with its labels) in `/metrics`.
    async fn metric(&self, series: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    }

    async fn stop(self) {
        self.serving
            .shutdown(Duration::from_secs(10))
            .await
            .unwrap();
    }
}

struct Seen {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
    elapsed: Duration,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn text(&self) -> String {
        self.json()["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The text of a streamed answer.
    fn streamed_text(&self) -> String {
        self.body
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str::<Value>(d).unwrap())
            .filter_map(|v| {
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect()
    }
}

struct Pair {
    a: Instance,
    b: Instance,
    sim: SimServer,
    _dirs: [tempfile::TempDir; 2],
}

async fn pair(redis: &RedisServer, on_error: &str) -> Pair {
    let sim = SimServer::start(SimConfig::default()).await.unwrap();
    let text = config_text(&sim, &redis.url(), on_error);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let a = instance(dirs[0].path(), &text).await;
    let b = instance(dirs[1].path(), &text).await;
    Pair {
        a,
        b,
        sim,
        _dirs: dirs,
    }
}

impl Pair {
    async fn stop(self) {
        self.a.stop().await;
        self.b.stop().await;
        self.sim.shutdown().await;
    }
}

/// Asks `gw` until its cache has the answer (stores are written in the background).
async fn until_hit(gw: &Instance, key: &str, text: &str, stream: bool) -> Seen {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let seen = gw.chat(key, text, stream).await;
        assert_eq!(seen.status, 200, "{}", seen.body);
        if seen.header("x-llmgw-cache") == Some("hit") || Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_cached_through_one_instance_is_a_hit_on_the_other() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let p = pair(&redis, "refuse").await;
    let question = "What is the capital of France? (shared cache)";
    let first = p.a.chat(TEAM_KEY, question, false).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("x-llmgw-cache"), Some("miss"));

    let hit = until_hit(&p.b, TEAM_KEY, question, false).await;
    assert_eq!(hit.header("x-llmgw-cache"), Some("hit"), "{}", hit.body);
    assert_eq!(hit.text(), first.text());
    // Replayed as a stream when a stream is asked for.
    let streamed = p.b.chat(TEAM_KEY, question, true).await;
    assert_eq!(streamed.header("x-llmgw-cache"), Some("hit"));
    assert_eq!(streamed.streamed_text(), first.text());
    // Another tenant never sees it.
    let other = p.b.chat(OTHER_KEY, question, false).await;
    assert_eq!(other.header("x-llmgw-cache"), Some("miss"));
    // A streamed answer completed on B is then a hit on A.
    let q2 = "Name three rivers (streamed first)";
    let s = p.b.chat(TEAM_KEY, q2, true).await;
    assert_eq!(s.header("x-llmgw-cache"), Some("miss"));
    let hit = until_hit(&p.a, TEAM_KEY, q2, false).await;
    assert_eq!(hit.header("x-llmgw-cache"), Some("hit"));
    assert_eq!(hit.text(), s.streamed_text());
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_spent_through_one_instance_is_refused_on_the_other() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let p = pair(&redis, "refuse").await;
    // Each answer costs well under the $0.004 budget; the budget is spent after a few.
    let mut spent_out = false;
    for i in 0..40 {
        let seen =
            p.a.chat(THRIFTY_KEY, &format!("question number {i}"), false)
                .await;
        if seen.status == 429 {
            spent_out = true;
            break;
        }
        assert_eq!(seen.status, 200, "{}", seen.body);
    }
    assert!(spent_out, "the budget ran out through A");
    let usage_a = p.a.gateway.state().governor.usage("thrifty").await.unwrap();
    let usage_b = p.b.gateway.state().governor.usage("thrifty").await.unwrap();
    assert_eq!(usage_a, usage_b, "both instances read one counter");
    assert!(usage_a.spent_today_usd >= 0.004, "{usage_a:?}");
    let refused = p.b.chat(THRIFTY_KEY, "a new question for B", false).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "budget_exceeded");
    assert!(refused.header("retry-after").is_some());
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_counts_requests_to_both_instances() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let p = pair(&redis, "refuse").await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let gw = if i % 2 == 0 { &p.a } else { &p.b };
        let seen = gw.chat(SLOW_KEY, &format!("rate {i}"), false).await;
        if seen.status == 429 {
            assert_eq!(
                seen.json()["error"]["code"],
                "requests_per_minute_exceeded",
                "{}",
                seen.body
            );
            assert!(seen.header("retry-after").is_some());
        }
        statuses.push(seen.status);
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429, 429],
        "3 per minute over both"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_redis_goes_away_requests_still_end_clearly() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let strict = pair(&redis, "refuse").await;
    let lenient_dir = tempfile::tempdir().unwrap();
    let lenient = instance(
        lenient_dir.path(),
        &config_text(&strict.sim, &redis.url(), "allow"),
    )
    .await;
    assert_eq!(strict.a.chat(TEAM_KEY, "before", false).await.status, 200);

    redis.stop();
    for round in 0..3 {
        // Counters unavailable and refusing: a clear 503, fast, cache lookup included.
        let seen = strict.a.chat(TEAM_KEY, "before", false).await;
        assert_eq!(seen.status, 503, "{}", seen.body);
        let err = &seen.json()["error"];
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("Spend counters are unavailable"),
            "{err}"
        );
        assert!(!seen.body.contains("sim-provider-key"), "{}", seen.body);
        assert!(
            seen.elapsed < Duration::from_secs(3),
            "round {round}: {:?}",
            seen.elapsed
        );
        // Allowed through uncounted: the answer comes from the provider (a cache miss).
        for stream in [false, true] {
            let seen = lenient.chat(TEAM_KEY, "during the outage", stream).await;
            assert_eq!(seen.status, 200, "{}", seen.body);
            assert_eq!(seen.header("x-llmgw-cache"), Some("miss"));
            assert!(seen.elapsed < Duration::from_secs(3), "{:?}", seen.elapsed);
        }
    }
    // The failures are counted for `/metrics`.
    let errors = r#"llmgw_shared_state_errors_total{part="counters"}"#;
    assert!(lenient.metric(errors).await >= 1.0);
    assert!(lenient.metric("llmgw_shared_state_uncounted_total").await >= 6.0);
    let cache_errors = r#"llmgw_shared_state_errors_total{part="cache"}"#;
    assert!(lenient.metric(cache_errors).await >= 1.0);
    assert!(strict.a.metric(errors).await >= 1.0);
    lenient.stop().await;
    strict.stop().await;
}
