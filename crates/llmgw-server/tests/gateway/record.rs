//! The record stage: exactly one outcome record per request, with what happened.

use std::time::Duration;

use futures::StreamExt;
use llmgw_outcomes::{LogConfig, OutcomeLog, OutcomeRecord};
use serde_json::json;

use crate::support::{chat, TestGateway};

fn records(log: &OutcomeLog) -> Vec<OutcomeRecord> {
    log.snapshot()
        .outcomes
        .iter()
        .map(|r| (**r).clone())
        .collect()
}

async fn wait_for(log: &OutcomeLog, n: usize) -> Vec<OutcomeRecord> {
    for _ in 0..200 {
        let recs = records(log);
        if recs.len() >= n {
            return recs;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    records(log)
}

fn by_id<'a>(recs: &'a [OutcomeRecord], id: &str) -> &'a OutcomeRecord {
    let found: Vec<&OutcomeRecord> = recs.iter().filter(|r| r.request_id == id).collect();
    assert_eq!(found.len(), 1, "exactly one record for {id}");
    found[0]
}

#[tokio::test]
async fn every_request_is_recorded_once_with_usage_cost_route_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LogConfig::new(dir.path());
    cfg.flush_interval = Duration::from_secs(600);
    let (log, writer) = OutcomeLog::start(cfg).unwrap();
    let gw = TestGateway::start_full(true, None, Some(log.clone())).await;
    let id = |r: &reqwest::Response| {
        r.headers()["x-llmgw-request-id"]
            .to_str()
            .unwrap()
            .to_string()
    };

    let r = gw
        .post("/v1/chat/completions", chat("strong", "hello"))
        .await;
    let named = id(&r);
    r.text().await.unwrap();

    let mut body = chat("weak", "stream me please");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", body).await;
    let streamed = id(&r);
    r.text().await.unwrap();

    let r = gw
        .post("/v1/chat/completions", chat("auto", "a hard question"))
        .await;
    let routed = id(&r);
    r.text().await.unwrap();

    let r = gw.post("/v1/chat/completions", chat("nope", "x")).await;
    let missing = id(&r);
    r.text().await.unwrap();

    // A client that goes away mid-stream.
    let mut body = chat("weak", "stall and wait");
    body["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", body).await;
    let gone = id(&r);
    let mut bytes = r.bytes_stream();
    bytes.next().await.unwrap().unwrap();
    drop(bytes);

    let recs = wait_for(&log, 5).await;
    assert_eq!(recs.len(), 5, "one record per request");

    let r = by_id(&recs, &named);
    assert_eq!(
        (r.model.as_deref(), r.provider.as_deref()),
        (Some("strong"), Some("alpha"))
    );
    assert_eq!(
        (r.prompt_tokens, r.completion_tokens),
        (Some(1000), Some(100))
    );
    let cost = r.cost_usd.unwrap();
    assert!(
        (cost - (1000.0 * 10.0 + 100.0 * 30.0) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.prompt.as_deref().map(|p| p.contains("hello")), Some(true));
    assert!(r.policy.is_none());

    let r = by_id(&recs, &streamed);
    assert!(r.stream);
    assert_eq!(
        r.completion_tokens,
        Some(100),
        "usage priced although the client did not ask for it"
    );
    assert!(r.ttft_ms.is_some() && r.error_kind.is_none());

    let r = by_id(&recs, &routed);
    assert_eq!(r.requested_model, "auto");
    assert_eq!(r.model.as_deref(), Some("mid"));
    assert!(r.policy.as_deref().unwrap().starts_with("balanced:"));
    assert_eq!(r.candidates.len(), 4);
    assert_eq!(r.candidates[0].model, "mid", "ranked order, winner first");
    assert!((r.predicted_quality.unwrap() - 0.9).abs() < 1e-6);
    assert!(r.difficulty.is_some() && r.routing_ms.is_some());

    let r = by_id(&recs, &missing);
    assert_eq!(r.status, 404);
    assert_eq!(r.error_kind.as_deref(), Some("model_not_found"));

    let r = by_id(&recs, &gone);
    assert_eq!(r.error_kind.as_deref(), Some("client_closed"));

    let stats = writer.shutdown().await.unwrap();
    assert_eq!(stats.outcomes_written, 5);
}
