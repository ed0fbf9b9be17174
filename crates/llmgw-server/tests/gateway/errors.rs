use serde_json::json;

use crate::support::{chat, expect_error, TestGateway};

#[tokio::test]
async fn malformed_json_and_wrong_types_are_400_with_param() {
    let gw = TestGateway::start(false).await;
    let err = expect_error(
        gw.post_raw("/v1/chat/completions", "{\"model\": \"weak\",")
            .await,
        400,
    )
    .await;
    assert_eq!(err["code"], "invalid_json");
    let err = expect_error(gw.post_raw("/v1/chat/completions", "").await, 400).await;
    assert!(err["message"].as_str().unwrap().contains("empty"));
    let err = expect_error(gw.post_raw("/v1/chat/completions", "[]").await, 400).await;
    assert_eq!(err["code"], "invalid_json");

    let err = expect_error(
        gw.post(
            "/v1/chat/completions",
            json!({"model": "weak", "messages": "hi"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["param"], "messages");
    let err = expect_error(
        gw.post("/v1/chat/completions", json!({"model": "weak", "messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"})).await,
        400,
    )
    .await;
    assert_eq!(err["param"], "max_tokens");
    let err = expect_error(
        gw.post("/v1/chat/completions", json!({"messages": []}))
            .await,
        400,
    )
    .await;
    assert_eq!(err["param"], "model");
    assert_eq!(err["code"], "missing_required_parameter");
    let err = expect_error(
        gw.post("/v1/chat/completions", json!({"model": "weak"}))
            .await,
        400,
    )
    .await;
    assert_eq!(err["param"], "messages");
}

#[tokio::test]
async fn empty_messages_and_bad_values_are_400() {
    let gw = TestGateway::start(false).await;
    let err = expect_error(
        gw.post(
            "/v1/chat/completions",
            json!({"model": "weak", "messages": []}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["param"], "messages");
    let mut body = chat("weak", "x");
    body["temperature"] = json!(7);
    let err = expect_error(gw.post("/v1/chat/completions", body).await, 400).await;
    assert_eq!(err["param"], "temperature");
    // Nothing reached upstream.
    assert!(gw.upstreams["alpha"].seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn unknown_model_is_404_model_not_found() {
    let gw = TestGateway::start(false).await;
    let resp = gw.post("/v1/chat/completions", chat("gpt-17", "x")).await;
    assert!(resp.headers().get("x-llmgw-model").is_none());
    let err = expect_error(resp, 404).await;
    assert_eq!(err["code"], "model_not_found");
    assert_eq!(err["param"], "model");
    assert!(err["message"].as_str().unwrap().contains("gpt-17"));
}

#[tokio::test]
async fn model_without_key_is_503_naming_the_env_var() {
    let gw = TestGateway::start(false).await;
    let resp = gw.post("/v1/chat/completions", chat("locked", "x")).await;
    assert_eq!(resp.headers()["x-llmgw-provider"], "locked");
    let err = expect_error(resp, 503).await;
    assert_eq!(err["code"], "provider_unavailable");
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("LLMGW_TEST_KEY_THAT_IS_NEVER_SET"));
}

#[tokio::test]
async fn oversized_body_is_413() {
    let gw = TestGateway::start(false).await;
    let big = "x".repeat(10_000);
    let resp = gw.post("/v1/chat/completions", chat("weak", &big)).await;
    let err = expect_error(resp, 413).await;
    assert_eq!(err["code"], "request_too_large");
    assert!(err["message"].as_str().unwrap().contains("4096"));
}

#[tokio::test]
async fn output_limit_is_checked_against_the_model() {
    let gw = TestGateway::start(false).await;
    // `strong` produces at most 500 tokens.
    let mut body = chat("strong", "x");
    body["max_tokens"] = json!(501);
    let err = expect_error(gw.post("/v1/chat/completions", body).await, 400).await;
    assert_eq!(err["param"], "max_tokens");
}

#[tokio::test]
async fn auto_without_router_is_a_clear_400() {
    let gw = TestGateway::start(false).await;
    let err = expect_error(
        gw.post("/v1/chat/completions", chat("auto", "x")).await,
        400,
    )
    .await;
    assert_eq!(err["code"], "auto_routing_unavailable");
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("Auto routing is not configured"));
}

#[tokio::test]
async fn unknown_routes_and_methods_are_openai_shaped() {
    let gw = TestGateway::start(false).await;
    let resp = gw.client.get(gw.url("/v1/nothing")).send().await.unwrap();
    let err = expect_error(resp, 404).await;
    assert!(err["message"].as_str().unwrap().contains("/v1/nothing"));
    let resp = gw
        .client
        .get(gw.url("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    expect_error(resp, 405).await;
}

#[tokio::test]
async fn upstream_errors_keep_their_status_and_name_the_provider() {
    let gw = TestGateway::start(false).await;
    let resp = gw
        .post("/v1/chat/completions", chat("weak", "fail429"))
        .await;
    assert_eq!(resp.headers()["x-llmgw-model"], "weak");
    assert_eq!(resp.headers()["retry-after"], "1");
    let err = expect_error(resp, 429).await;
    assert!(err["message"].as_str().unwrap().contains("alpha"));
    let err = expect_error(
        gw.post("/v1/chat/completions", chat("weak", "fail500"))
            .await,
        500,
    )
    .await;
    assert!(err["message"].as_str().unwrap().contains("alpha"));
}

#[tokio::test]
async fn slow_upstream_hits_the_timeout_with_504() {
    let gw = TestGateway::start(false).await;
    let err = expect_error(
        gw.post("/v1/chat/completions", chat("weak", "slow")).await,
        504,
    )
    .await;
    assert!(err["message"].as_str().unwrap().contains("alpha"));
    assert_eq!(err["type"], "timeout_error");
}
