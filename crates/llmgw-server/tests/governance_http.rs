//! Gateway keys, budgets, rate limits, retries, fallbacks and circuit breakers over HTTP, with
//! the simulated providers and their fault injection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use llmgw_governance::KeyHash;
use llmgw_sim::Fault;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keys_the_gateway_is_open() {
    let gw = start("").await;
    let seen = gw.chat(None, "pricey", "hello").await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    let health = gw.get("/health", None).await.json();
    assert_eq!(health["open_access"], true);
    assert_eq!(health["gateway_keys"], 0);
    assert_eq!(health["admin_api"], false);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_required_and_restrict_models() {
    let gw = start(&keys_toml()).await;
    let seen = gw.chat(None, "cheap", "hello").await;
    assert_eq!(seen.status, 401);
    assert_eq!(seen.error()["type"], "authentication_error");

    let wrong = "sk-llmgw-wrong-key-must-not-echo-9";
    let seen = gw.chat(Some(wrong), "cheap", "hello").await;
    assert_eq!(seen.status, 401);
    assert!(!seen.body.contains("must-not-echo"), "{}", seen.body);

    let seen = gw.chat(Some(TEAM_KEY), "cheap", "hello").await;
    assert_eq!(seen.status, 200, "{}", seen.body);

    let seen = gw.chat(Some(TEAM_KEY), "pricey", "hello").await;
    assert_eq!(seen.status, 403, "{}", seen.body);
    let err = seen.error();
    assert_eq!(err["code"], "model_not_allowed");
    assert_eq!(err["param"], "model");
    assert_eq!(
        gw.sim.requests_seen_for("pricey"),
        0,
        "refused before any upstream call"
    );

    let health = gw.get("/health", None).await.json();
    assert_eq!(health["open_access"], false);
    assert_eq!(health["gateway_keys"], 4);
    assert!(!gw
        .get("/health", None)
        .await
        .body
        .contains("sim-provider-key"));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_per_minute_give_429_with_retry_after() {
    let gw = start(&keys_toml()).await;
    for _ in 0..2 {
        assert_eq!(gw.chat(Some(SLOW_KEY), "cheap", "hi").await.status, 200);
    }
    let seen = gw.chat(Some(SLOW_KEY), "cheap", "hi").await;
    assert_eq!(seen.status, 429, "{}", seen.body);
    let err = seen.error();
    assert_eq!(err["type"], "rate_limit_error");
    assert_eq!(err["code"], "requests_per_minute_exceeded");
    // Two a minute: the next one fits 30 s after the last.
    let wait: u64 = seen.header("retry-after").unwrap().parse().unwrap();
    assert!((29..=30).contains(&wait), "retry-after {wait}");
    // Other keys are not affected.
    assert_eq!(gw.chat(Some(TEAM_KEY), "cheap", "hi").await.status, 200);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_are_charged_from_actual_usage_streams_included() {
    let gw = start(&keys_toml()).await;
    // A plain answer.
    let seen = gw
        .chat(Some(THRIFTY_KEY), "cheap", "hi [[sim:tokens=20]]")
        .await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    let first = cost_of(&seen.json()["usage"], 100.0, 200.0);
    assert!((gw.spent_today("thrifty").await - first).abs() < 1e-8);

    // A stream: charged from its final usage once it ends.
    let body = json!({"model": "cheap", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "stream please [[sim:tokens=12]]"}]});
    let seen = gw
        .send(
            reqwest::Method::POST,
            "/v1/chat/completions",
            Some(THRIFTY_KEY),
            Some(body),
        )
        .await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert!(seen.body.contains("[DONE]"));
    let usage: Value = seen
        .body
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|c| c["usage"].is_object())
        .map(|c| c["usage"].clone())
        .expect("a usage chunk");
    let second = cost_of(&usage, 100.0, 200.0);
    let mut spent = 0.0;
    for _ in 0..100 {
        spent = gw.spent_today("thrifty").await;
        if spent > first {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        (spent - (first + second)).abs() < 1e-8,
        "{spent} vs {first} + {second}"
    );
    assert!(
        spent > 0.008,
        "the lone-request rule let the second request use the rest"
    );

    // Spent: refused until the next UTC day, with nothing sent upstream.
    let before = gw.sim.requests_seen_for("cheap-up");
    let seen = gw.chat(Some(THRIFTY_KEY), "cheap", "one more").await;
    assert_eq!(seen.status, 429, "{}", seen.body);
    let err = seen.error();
    assert_eq!(
        (err["type"].as_str(), err["code"].as_str()),
        (Some("insufficient_quota"), Some("budget_exceeded"))
    );
    let wait: u64 = seen.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&wait), "{wait}");
    assert_eq!(gw.sim.requests_seen_for("cheap-up"), before);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_calls_are_retried_and_reported() {
    let gw = start("").await;
    let seen = gw
        .chat(None, "cheap", "retry me [[sim:fail_first=2]]")
        .await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.header("x-llmgw-attempts"), Some("3"));
    assert_eq!(seen.header("x-llmgw-fallback-from"), None);

    // A stream refused before its first token is retried too.
    let body = json!({"model": "cheap", "stream": true,
        "messages": [{"role": "user", "content": "stream retry [[sim:fail_first=1]]"}]});
    let seen = gw
        .send(
            reqwest::Method::POST,
            "/v1/chat/completions",
            None,
            Some(body),
        )
        .await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.header("x-llmgw-attempts"), Some("2"));
    assert!(
        seen.body.trim_end().ends_with("data: [DONE]"),
        "{}",
        seen.body
    );

    // Not retried: the client's own mistake.
    let seen = gw
        .chat(None, "cheap", "bad [[sim:error=bad_request]]")
        .await;
    assert_eq!(seen.status, 400, "{}", seen.body);
    assert_eq!(seen.header("x-llmgw-attempts"), Some("1"));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_breaker_and_probe() {
    let gw = start("").await;
    gw.sim.inject("flaky-up", Fault::Status(503), 3);

    // Three 503s: retried, the breaker opens, the configured fallback answers.
    let seen = gw.chat(None, "flaky", "first").await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.header("x-llmgw-model"), Some("backup"));
    assert_eq!(seen.header("x-llmgw-provider"), Some("simant"));
    assert_eq!(seen.header("x-llmgw-fallback-from"), Some("flaky"));
    assert_eq!(seen.header("x-llmgw-attempts"), Some("4"));
    assert_eq!(seen.json()["model"], "backup");
    let rec = gw.record(&seen).await;
    assert_eq!(rec.model.as_deref(), Some("backup"));
    assert_eq!(rec.provider.as_deref(), Some("simant"));
    assert_eq!(rec.retries, 2);
    assert_eq!(rec.fallbacks, ["flaky"]);
    assert_eq!(rec.status, 200);

    let health = gw.get("/health", None).await.json();
    let breakers = health["circuit_breakers"].as_array().unwrap();
    let flaky = breakers.iter().find(|b| b["model"] == "flaky").unwrap();
    assert_eq!(flaky["state"], "open", "{health}");
    assert_eq!(flaky["provider"], "simoa");
    let metrics = gw.get("/metrics", None).await.body;
    assert!(
        metrics.contains(r#"llmgw_circuit_breaker_state{model="flaky",provider="simoa"} 2"#),
        "{metrics}"
    );

    // While open, flaky is not called at all.
    let calls = gw.sim.requests_seen_for("flaky-up");
    let seen = gw.chat(None, "flaky", "second").await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.header("x-llmgw-attempts"), Some("1"));
    assert_eq!(seen.header("x-llmgw-fallback-from"), Some("flaky"));
    assert_eq!(gw.sim.requests_seen_for("flaky-up"), calls);

    // After the cool-down a probe goes through, succeeds and closes the breaker.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let seen = gw.chat(None, "flaky", "third").await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.header("x-llmgw-model"), Some("flaky"));
    assert_eq!(seen.header("x-llmgw-fallback-from"), None);
    let health = gw.get("/health", None).await.json();
    let flaky = health["circuit_breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["model"] == "flaky")
        .cloned()
        .unwrap();
    assert_eq!(flaky["state"], "closed");
    assert_eq!(flaky["times_opened"], 1);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_candidate_failing_returns_the_upstream_error() {
    let gw = start("").await;
    let seen = gw.chat(None, "flaky", "always [[sim:status=503]]").await;
    assert_eq!(seen.status, 503, "{}", seen.body);
    // 3 calls to flaky, then 3 to its fallback (the directive reaches both).
    assert_eq!(seen.header("x-llmgw-attempts"), Some("6"));
    assert_eq!(seen.header("x-llmgw-fallback-from"), Some("flaky"));
    assert!(seen.error()["message"].as_str().unwrap().contains("simant"));
    let rec = gw.record(&seen).await;
    assert_eq!((rec.status, rec.retries), (503, 4));
    assert_eq!(rec.model.as_deref(), Some("backup"));
    assert_eq!(rec.fallbacks, ["flaky"]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_issues_lists_and_revokes_keys() {
    let gw = start(&keys_toml()).await;
    let new = json!({"id": "ci-bot", "models": ["cheap"], "requests_per_minute": 10});
    let seen = gw
        .send(
            reqwest::Method::POST,
            "/admin/keys",
            None,
            Some(new.clone()),
        )
        .await;
    assert_eq!(seen.status, 401);
    let seen = gw
        .send(
            reqwest::Method::POST,
            "/admin/keys",
            Some(TEAM_KEY),
            Some(new.clone()),
        )
        .await;
    assert_eq!(seen.status, 401, "a gateway key is not the admin key");

    let seen = gw
        .send(
            reqwest::Method::POST,
            "/admin/keys",
            Some(ADMIN_KEY),
            Some(new),
        )
        .await;
    assert_eq!(seen.status, 201, "{}", seen.body);
    let issued = seen.json();
    let key = issued["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("sk-llmgw-"));
    assert_eq!(gw.chat(Some(&key), "cheap", "hi").await.status, 200);
    assert_eq!(gw.chat(Some(&key), "backup", "hi").await.status, 403);

    let list = gw.get("/admin/keys", Some(ADMIN_KEY)).await;
    assert_eq!(list.status, 200);
    assert!(!list.body.contains(&key), "keys are shown only when issued");
    assert!(
        !list.body.contains(&KeyHash::of(&key).to_hex()),
        "nor their hashes"
    );
    let ids: Vec<&str> = list.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_string().leak() as &str)
        .collect();
    assert_eq!(ids, ["ci-bot", "pool", "slow", "team", "thrifty"]);
    let one = gw.get("/admin/keys/ci-bot", Some(ADMIN_KEY)).await.json();
    assert!(one["usage"]["spent_today_usd"].as_f64().unwrap() > 0.0);

    let bad = gw
        .send(
            reqwest::Method::POST,
            "/admin/keys",
            Some(ADMIN_KEY),
            Some(json!({"rpm": 1})),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    let del = gw
        .send(
            reqwest::Method::DELETE,
            "/admin/keys/ci-bot",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(del.status, 200, "{}", del.body);
    assert_eq!(gw.chat(Some(&key), "cheap", "hi").await.status, 401);
    let del = gw
        .send(
            reqwest::Method::DELETE,
            "/admin/keys/ci-bot",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(del.status, 404);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_overshoot_a_budget_by_at_most_one_request() {
    let gw = std::sync::Arc::new(start(&keys_toml()).await);
    let mut tasks = Vec::new();
    for i in 0..32 {
        let gw = gw.clone();
        // Each caller keeps asking until the budget is reported spent (a refusal while the
        // rest of the budget is held by requests in flight says `retry-after: 1`).
        tasks.push(tokio::spawn(async move {
            let mut costs = Vec::new();
            for n in 0..500 {
                let body = json!({"model": "backup", "stream": (i + n) % 2 == 0,
                    "stream_options": {"include_usage": true},
                    "messages": [{"role": "user", "content": format!("question {i}/{n} [[sim:tokens=40]]")}]});
                let seen = gw
                    .send(reqwest::Method::POST, "/v1/chat/completions", Some(POOL_KEY), Some(body))
                    .await;
                match (seen.status, seen.header("retry-after")) {
                    (200, _) => {
                        let usage = seen
                            .body
                            .split("\n\n")
                            .map(|e| e.strip_prefix("data: ").unwrap_or(e))
                            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                            .find(|c| c["usage"].is_object())
                            .map(|c| c["usage"].clone())
                            .expect("usage");
                        costs.push(cost_of(&usage, 1.0, 1.0));
                    }
                    (429, Some("1")) => tokio::time::sleep(Duration::from_millis(5)).await,
                    (429, Some(_)) => return (costs, true),
                    (other, _) => panic!("unexpected {other}: {}", seen.body),
                }
            }
            (costs, false)
        }));
    }
    let mut costs = Vec::new();
    for t in tasks {
        let (c, saw_spent) = t.await.unwrap();
        assert!(saw_spent, "every caller ends on a spent budget");
        costs.extend(c);
    }
    let max_cost = costs.iter().copied().fold(0.0, f64::max);
    // Let the last settlements land.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let usage = gw.gateway.state().governor.usage("pool").await.unwrap();
    assert_eq!(usage.reserved_today_usd, 0.0, "every hold released");
    let spent = usage.spent_today_usd;
    assert!(
        (spent - costs.iter().sum::<f64>()).abs() < 1e-9,
        "spend is the sum of the answers' costs"
    );
    assert!(spent >= 0.0004 - 1e-12, "the budget was used up: {spent}");
    assert!(
        spent <= 0.0004 + max_cost + 1e-12,
        "spent {spent} with a budget of 0.0004 and requests of at most {max_cost}"
    );
    match std::sync::Arc::try_unwrap(gw) {
        Ok(gw) => {
            gw.stop().await;
        }
        Err(_) => panic!("gateway still shared"),
    }
}
