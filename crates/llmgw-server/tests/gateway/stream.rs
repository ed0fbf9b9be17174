use serde_json::json;

use crate::support::{chat, expect_error, sse_events, TestGateway};

fn streamed(model: &str, text: &str, usage: bool) -> serde_json::Value {
    let mut body = chat(model, text);
    body["stream"] = json!(true);
    if usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

#[tokio::test]
async fn stream_passes_chunks_and_ends_with_done_and_usage_when_asked() {
    let gw = TestGateway::start(false).await;
    let resp = gw
        .post(
            "/v1/chat/completions",
            streamed("strong", "one two three", true),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert_eq!(resp.headers()["x-llmgw-model"], "strong");
    let text = resp.text().await.unwrap();
    let events = sse_events(&text);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<serde_json::Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content.trim_end(), "echo: one two three");
    assert!(chunks.iter().all(|c| c["model"] == "strong"));
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"].as_array().unwrap().len(), 0);
    assert_eq!(last["usage"]["completion_tokens"], 100);
    // Usage was asked upstream in any case.
    let seen = gw.upstreams["alpha"].seen.lock().unwrap().clone();
    assert!(seen[0].include_usage());
}

#[tokio::test]
async fn usage_chunk_is_dropped_when_not_asked() {
    let gw = TestGateway::start(false).await;
    let text = gw
        .post("/v1/chat/completions", streamed("weak", "hello", false))
        .await
        .text()
        .await
        .unwrap();
    let events = sse_events(&text);
    assert_eq!(events.last().unwrap(), "[DONE]");
    assert!(!text.contains("\"usage\""), "{text}");
    // Upstream still asked for usage (the gateway prices every answer).
    assert!(gw.upstreams["alpha"].seen.lock().unwrap()[0].include_usage());
}

#[tokio::test]
async fn cut_stream_ends_with_an_error_event_not_done() {
    let gw = TestGateway::start(false).await;
    let resp = gw
        .post("/v1/chat/completions", streamed("weak", "please cut", true))
        .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let events = sse_events(&text);
    assert!(!text.contains("[DONE]"), "{text}");
    let last: serde_json::Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "stream_cut");
    assert!(last["error"]["message"].as_str().unwrap().contains("alpha"));
}

#[tokio::test]
async fn upstream_error_mid_stream_becomes_an_error_event() {
    let gw = TestGateway::start(false).await;
    let text = gw
        .post(
            "/v1/chat/completions",
            streamed("weak", "midfail now", false),
        )
        .await
        .text()
        .await
        .unwrap();
    let events = sse_events(&text);
    assert!(!text.contains("[DONE]"));
    let last: serde_json::Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "upstream_error");
}

#[tokio::test]
async fn stalled_stream_times_out_with_an_error_event() {
    let gw = TestGateway::start(false).await;
    let started = std::time::Instant::now();
    let text = gw
        .post(
            "/v1/chat/completions",
            streamed("weak", "stall here", false),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let last: serde_json::Value = serde_json::from_str(sse_events(&text).last().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "timeout_error");
}

#[tokio::test]
async fn refused_stream_is_a_plain_error_response() {
    let gw = TestGateway::start(false).await;
    let resp = gw
        .post("/v1/chat/completions", streamed("weak", "fail429", false))
        .await;
    let err = expect_error(resp, 429).await;
    assert!(err["message"].as_str().unwrap().contains("alpha"));
}

#[tokio::test]
async fn slow_stream_start_is_504() {
    let gw = TestGateway::start(false).await;
    let resp = gw
        .post("/v1/chat/completions", streamed("weak", "slow", false))
        .await;
    expect_error(resp, 504).await;
}
