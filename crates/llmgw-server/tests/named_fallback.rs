//! A named model whose provider cannot be called at routing time (no key, or excluded by the
//! request) goes to the fallbacks `[reliability.fallbacks]` lists for it, within the caller's
//! allowed models and budgets; a 503 that says why only when no fallback is usable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

async fn chat_body(gw: &Gw, key: Option<&str>, body: Value) -> Seen {
    gw.send(
        reqwest::Method::POST,
        "/v1/chat/completions",
        key,
        Some(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_without_a_provider_key_falls_back_to_its_configured_fallback() {
    let gw = start(&keys_toml()).await;
    let seen = gw
        .chat(Some(THRIFTY_KEY), "dark", "hello [[sim:tokens=10]]")
        .await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.header("x-llmgw-model"), Some("backup"));
    assert_eq!(seen.header("x-llmgw-provider"), Some("simant"));
    assert_eq!(seen.header("x-llmgw-fallback-from"), Some("dark"));
    assert_eq!(seen.header("x-llmgw-attempts"), Some("1"));
    assert_eq!(seen.json()["model"], "backup");
    assert_eq!(gw.sim.requests_seen_for("dark-up"), 0);
    assert_eq!(gw.sim.requests_seen_for("backup-up"), 1);

    let rec = gw.record(&seen).await;
    assert_eq!(rec.requested_model, "dark");
    assert_eq!(rec.model.as_deref(), Some("backup"));
    assert_eq!(rec.provider.as_deref(), Some("simant"));
    assert_eq!(rec.fallbacks, ["dark"]);
    assert_eq!((rec.status, rec.retries), (200, 0));
    assert_eq!(rec.error_kind, None);

    // Charged at the fallback's prices (1 USD per million tokens each way).
    let usage = &seen.json()["usage"];
    let tokens =
        usage["prompt_tokens"].as_f64().unwrap() + usage["completion_tokens"].as_f64().unwrap();
    let spent = gw.spent_today("thrifty").await;
    assert!(
        (spent - tokens / 1e6).abs() < 1e-9,
        "{spent} for {tokens} tokens"
    );

    // Streams too.
    let body = json!({"model": "dark", "stream": true,
        "messages": [{"role": "user", "content": "stream [[sim:tokens=8]]"}]});
    let seen = chat_body(&gw, Some(THRIFTY_KEY), body).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.header("x-llmgw-fallback-from"), Some("dark"));
    assert!(
        seen.body.trim_end().ends_with("data: [DONE]"),
        "{}",
        seen.body
    );
    assert!(seen.body.contains(r#""model":"backup""#), "{}", seen.body);

    // `/v1/route` says the same without calling anything.
    let body = json!({"model": "dark", "messages": [{"role": "user", "content": "where to?"}]});
    let seen = gw
        .send(
            reqwest::Method::POST,
            "/v1/route",
            Some(THRIFTY_KEY),
            Some(body),
        )
        .await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.json()["model"], "backup");
    assert_eq!(seen.json()["ranked"], json!(["backup"]));
    assert_eq!(seen.header("x-llmgw-fallback-from"), Some("dark"));
    assert_eq!(gw.sim.requests_seen_for("backup-up"), 2);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_whose_provider_the_request_excludes_falls_back() {
    let gw = start("").await;
    let body = json!({"model": "flaky", "route": {"exclude_providers": ["simoa"]},
        "messages": [{"role": "user", "content": "not from simoa, please"}]});
    let seen = chat_body(&gw, None, body).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.header("x-llmgw-model"), Some("backup"));
    assert_eq!(seen.header("x-llmgw-fallback-from"), Some("flaky"));
    assert_eq!(gw.sim.requests_seen_for("flaky-up"), 0);

    // Excluding the fallback's provider as well leaves nothing to call.
    let body = json!({"model": "flaky", "route": {"exclude_providers": ["simoa", "simant"]},
        "messages": [{"role": "user", "content": "from nowhere"}]});
    let seen = chat_body(&gw, None, body).await;
    assert_eq!(seen.status, 503, "{}", seen.body);
    let err = seen.error();
    assert_eq!(err["code"], "provider_unavailable");
    let msg = err["message"].as_str().unwrap();
    assert!(
        msg.contains("`flaky`") && msg.contains("`simoa` is excluded") && msg.contains("`backup`"),
        "{msg}"
    );
    // Without the exclusion the model itself answers, as before.
    assert_eq!(gw.chat(None, "flaky", "hello").await.status, 200);
    assert_eq!(gw.sim.requests_seen_for("flaky-up"), 1);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_usable_fallback_is_a_503_that_says_why() {
    let gw = start(&keys_toml()).await;

    // The fallback has no key either.
    let seen = gw.chat(Some(THRIFTY_KEY), "darker", "hi").await;
    assert_eq!(seen.status, 503, "{}", seen.body);
    let err = seen.error();
    assert_eq!(err["code"], "provider_unavailable");
    assert_eq!(err["param"], "model");
    let msg = err["message"].as_str().unwrap();
    assert!(
        msg.contains("`darker`") && msg.contains("`lonely`") && msg.contains(MISSING_KEY_ENV),
        "{msg}"
    );
    let rec = gw.record(&seen).await;
    assert_eq!(
        (rec.status, rec.error_kind.as_deref()),
        (503, Some("provider_unavailable"))
    );

    // No fallbacks configured at all.
    let seen = gw.chat(Some(THRIFTY_KEY), "lonely", "hi").await;
    assert_eq!(seen.status, 503, "{}", seen.body);
    let msg = seen.error()["message"].as_str().unwrap().to_string();
    assert!(msg.contains("no fallbacks"), "{msg}");

    // The key may use the named model but not its fallback: nothing is called.
    let night = gw
        .issue_key(json!({"id": "night-owl", "models": ["dark"]}))
        .await;
    let seen = gw.chat(Some(&night), "dark", "hi").await;
    assert_eq!(seen.status, 503, "{}", seen.body);
    let msg = seen.error()["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("`backup`") && msg.contains("not allowed"),
        "{msg}"
    );
    assert_eq!(seen.header("retry-after"), None);

    // The key may not use the named model itself: 403, as for any model.
    let seen = gw.chat(Some(TEAM_KEY), "dark", "hi").await;
    assert_eq!(seen.status, 403, "{}", seen.body);
    assert_eq!(seen.error()["code"], "model_not_allowed");
    assert_eq!(gw.sim.requests_seen_for("backup-up"), 0);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_hold_on_the_fallback() {
    let gw = start(&keys_toml()).await;
    // A budget smaller than one answer: the first request may use it up, alone.
    let key = gw
        .issue_key(
            json!({"id": "tiny", "models": ["dark", "backup"], "daily_budget_usd": 0.000001}),
        )
        .await;
    let seen = gw.chat(Some(&key), "dark", "first [[sim:tokens=20]]").await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.header("x-llmgw-fallback-from"), Some("dark"));
    let seen = gw.chat(Some(&key), "dark", "second").await;
    assert_eq!(seen.status, 429, "{}", seen.body);
    assert_eq!(seen.error()["code"], "budget_exceeded");
    assert_eq!(gw.sim.requests_seen_for("backup-up"), 1);
    gw.stop().await;
}
