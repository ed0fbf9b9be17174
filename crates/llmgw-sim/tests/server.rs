//! Server lifecycle, accounting and per-model pacing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use llmgw_sim::{SimConfig, SimError, SimModel, SimServer};
use serde_json::Value;

#[tokio::test]
async fn base_urls_point_at_the_bound_loopback_address() {
    let sim = sim().await;
    let addr = sim.addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    assert_eq!(sim.openai_base_url(), format!("http://{addr}/openai/v1"));
    assert_eq!(sim.anthropic_base_url(), format!("http://{addr}/anthropic"));
    assert_eq!(sim.gemini_base_url(), format!("http://{addr}/gemini"));
}

#[tokio::test]
async fn requests_are_counted_and_recorded_without_credentials() {
    let sim = sim().await;
    assert_eq!(sim.requests_seen(), 0);
    for p in ALL {
        send(&sim, p, "counted", "hi", false).await;
    }
    send(&sim, P::OpenAi, "other", "hi [[sim:status=500]]", false).await;
    assert_eq!(sim.requests_seen(), 4);
    assert_eq!(sim.requests_seen_for("counted"), 3);
    assert_eq!(sim.requests_seen_for("other"), 1);
    let recent = sim.recent_requests();
    assert_eq!(recent.len(), 4);
    let providers: Vec<&str> = recent.iter().map(|r| r.provider).collect();
    assert_eq!(providers, vec!["openai", "anthropic", "gemini", "openai"]);
    assert_eq!(recent[1].body["max_tokens"], 1024);
    assert_eq!(
        recent[2].path,
        "/gemini/v1beta/models/counted:generateContent"
    );
    let dump = format!("{recent:?}");
    for secret in ["sk-test", "sk-ant-test", "g-test"] {
        assert!(!dump.contains(secret), "{secret} leaked");
    }
    // Listing models is not a generation request.
    client()
        .get(format!("{}/models", sim.openai_base_url()))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(sim.requests_seen(), 4);
}

#[tokio::test]
async fn streams_are_paced_by_first_token_latency_and_tokens_per_second() {
    let cfg = SimConfig::default().with_model(SimModel::new("slow", 150, 100.0));
    let sim = SimServer::start(cfg).await.unwrap();
    for p in ALL {
        let start = Instant::now();
        let resp = send(&sim, p, "slow", "Pace me [[sim:tokens=30]]", true).await;
        let headers_at = start.elapsed();
        let read = read_body(resp).await;
        assert!(!read.failed);
        let first = read.arrivals.first().unwrap().0 + headers_at;
        let last = read.arrivals.last().unwrap().0 + headers_at;
        // 150 ms to the first token, then 30 tokens at 100 tokens/s: about 0.44 s in all.
        assert!(
            last >= Duration::from_millis(400),
            "{p:?}: done after {last:?}"
        );
        // Delivered piece by piece over that time, not as one buffer at the end.
        assert!(
            last - first >= Duration::from_millis(250),
            "{p:?}: first {first:?}, last {last:?}"
        );
        assert!(
            read.arrivals.len() >= 5,
            "{p:?}: delivered in pieces, not one buffer"
        );
    }
}

#[tokio::test]
async fn non_streaming_answers_take_the_whole_generation_time() {
    let cfg = SimConfig {
        default_first_token_ms: 100,
        default_tokens_per_sec: 100.0,
        ..SimConfig::default()
    };
    let sim = SimServer::start(cfg).await.unwrap();
    let start = Instant::now();
    let resp = send(&sim, P::OpenAi, "any", "hi [[sim:tokens=20]]", false).await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["usage"]["completion_tokens"], 20);
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn shutdown_stops_serving_and_the_port_can_be_reused() {
    let sim = sim().await;
    let addr = sim.addr();
    assert_eq!(send(&sim, P::OpenAi, "m", "hi", false).await.status(), 200);
    sim.shutdown().await;
    let err = client()
        .post(format!("http://{addr}/openai/v1/chat/completions"))
        .bearer_auth("k")
        .json(&simple_body(P::OpenAi, "m", "hi", false))
        .send()
        .await;
    assert!(err.is_err());
    let again = SimServer::start_on(addr, SimConfig::default())
        .await
        .unwrap();
    assert_eq!(again.addr(), addr);
    assert_eq!(
        send(&again, P::Gemini, "m", "hi", false).await.status(),
        200
    );
}

#[tokio::test]
async fn binding_a_taken_port_is_a_clear_error() {
    let sim = sim().await;
    let err = SimServer::start_on(sim.addr(), SimConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(err, SimError::Bind { .. }));
    assert!(err.to_string().contains(&sim.addr().to_string()));
}

#[tokio::test]
async fn unknown_routes_get_a_json_404() {
    let sim = sim().await;
    let resp = client()
        .get(format!("http://{}/nope", sim.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let v: Value = resp.json().await.unwrap();
    assert!(v["error"]["message"].is_string());
}
