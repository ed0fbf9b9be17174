//! `GET /metrics`: Prometheus text with the counters of the requests served.

use std::time::Duration;

use llmgw_outcomes::{LogConfig, OutcomeLog};
use serde_json::json;

use crate::support::{chat, TestGateway};

fn value_of(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|rest| rest.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_errors_tokens_cost_latency_and_log_queue() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LogConfig::new(dir.path());
    cfg.flush_interval = Duration::from_secs(600);
    let (log, writer) = OutcomeLog::start(cfg).unwrap();
    let gw = TestGateway::start_full(false, None, Some(log.clone())).await;

    for _ in 0..2 {
        let r = gw
            .post("/v1/chat/completions", chat("weak", "count me"))
            .await;
        assert_eq!(r.status(), 200);
    }
    let r = gw
        .post("/v1/chat/completions", chat("weak", "fail500"))
        .await;
    assert!(r.status().as_u16() >= 500);
    let mut body = chat("weak", "stream me");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", body).await;
    assert!(r.text().await.unwrap().ends_with("data: [DONE]\n\n"));

    // The stream's record is closed when its body ends, just after the client saw it.
    let mut text = String::new();
    for _ in 0..50 {
        let r = gw.client.get(gw.url("/metrics")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        text = r.text().await.unwrap();
        if value_of(
            &text,
            r#"llmgw_requests_total{model="weak",provider="alpha",status="200"}"#,
        ) == Some(3.0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let series = |s: &str| value_of(&text, s).unwrap_or_else(|| panic!("no {s} in:\n{text}"));
    assert_eq!(
        series(r#"llmgw_requests_total{model="weak",provider="alpha",status="200"}"#),
        3.0
    );
    let errors: f64 = text
        .lines()
        .filter(|l| l.starts_with("llmgw_request_errors_total{") && l.contains(r#"model="weak""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(errors, 1.0, "{text}");
    // Each fake answer reports 1000 prompt and 100 completion tokens; weak costs $0.2/Mtok.
    assert_eq!(
        series(r#"llmgw_tokens_total{kind="prompt",model="weak",provider="alpha"}"#),
        3000.0
    );
    assert_eq!(
        series(r#"llmgw_tokens_total{kind="completion",model="weak",provider="alpha"}"#),
        300.0
    );
    let cost = series(r#"llmgw_cost_usd_total{model="weak",provider="alpha"}"#);
    assert!((cost - 3.0 * 1100.0 * 0.2 / 1e6).abs() < 1e-12, "{cost}");
    assert_eq!(
        series(r#"llmgw_request_duration_seconds_count{model="weak",provider="alpha"}"#),
        4.0
    );
    assert_eq!(
        series(r#"llmgw_time_to_first_token_seconds_count{model="weak",provider="alpha"}"#),
        1.0
    );
    assert!(series("llmgw_outcome_log_queue_depth") >= 0.0);
    assert!(text.contains(r#"llmgw_outcome_log_records{state="written"}"#));

    drop(gw);
    drop(log);
    writer.shutdown().await.unwrap();
}
