use serde_json::json;

use crate::support::{chat, TestGateway};

#[tokio::test]
async fn named_model_answers_with_headers_usage_and_catalog_id() {
    let gw = TestGateway::start(false).await;
    let resp = gw
        .post("/v1/chat/completions", chat("strong", "hello"))
        .await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert!(h["x-llmgw-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));
    assert_eq!(h["x-llmgw-model"], "strong");
    assert_eq!(h["x-llmgw-provider"], "alpha");
    assert_eq!(h["x-llmgw-simulated"], "false");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["model"], "strong",
        "the catalog id, not the upstream name"
    );
    assert_eq!(body["choices"][0]["message"]["content"], "echo: hello");
    assert_eq!(body["usage"]["prompt_tokens"], 1000);
    // Upstream got its own model name and no gateway-only fields.
    let seen = gw.upstreams["alpha"].seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].model, "strong-upstream-v1");
}

#[tokio::test]
async fn unknown_fields_are_ignored_and_route_is_not_forwarded() {
    let gw = TestGateway::start(false).await;
    let body = json!({
        "model": "weak",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "logit_bias": {"50256": -100},
        "some_future_param": {"x": 1},
        "route": {"min_quality": 0.5},
        "temperature": 0.2, "top_p": 0.9, "max_tokens": 50, "seed": 7, "user": "u1",
        "stop": ["\n\n"], "response_format": {"type": "json_object"}
    });
    let resp = gw.post("/v1/chat/completions", body).await;
    assert_eq!(resp.status(), 200);
    let seen = gw.upstreams["alpha"].seen.lock().unwrap().clone();
    assert!(seen[0].extra.contains_key("some_future_param"));
    assert!(!seen[0].extra.contains_key("route"));
    assert_eq!(seen[0].seed, Some(7));
    assert_eq!(seen[0].temperature, Some(0.2));
}

#[tokio::test]
async fn models_list_is_openai_shaped_and_reports_availability() {
    let gw = TestGateway::start(true).await;
    let resp = gw.client.get(gw.url("/v1/models")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-llmgw-request-id"));
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["object"], "list");
    let data = body["data"].as_array().unwrap();
    let ids: Vec<&str> = data.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "strong",
            "weak",
            "mid",
            "locked",
            "auto",
            "auto:balanced",
            "auto:frugal"
        ]
    );
    for m in data {
        assert_eq!(m["object"], "model");
        assert!(m["owned_by"].is_string());
    }
    assert_eq!(data[0]["llmgw"]["input_per_mtok"], 10.0);
    assert_eq!(data[0]["llmgw"]["available"], true);
    assert_eq!(data[3]["llmgw"]["available"], false);

    let one: serde_json::Value = gw
        .client
        .get(gw.url("/v1/models/weak"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["id"], "weak");
    let missing = gw
        .client
        .get(gw.url("/v1/models/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn health_reports_providers_and_keys() {
    let gw = TestGateway::start(false).await;
    let body: serde_json::Value = gw
        .client
        .get(gw.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["open_access"], true);
    assert_eq!(body["auto_routing"]["enabled"], false);
    assert!(body["auto_routing"]["reason"]
        .as_str()
        .unwrap()
        .contains("/nowhere"));
    let providers = body["providers"].as_array().unwrap();
    let locked = providers.iter().find(|p| p["name"] == "locked").unwrap();
    assert_eq!(locked["has_key"], false);
    assert_eq!(locked["available"], false);
    assert!(locked["reason"]
        .as_str()
        .unwrap()
        .contains("LLMGW_TEST_KEY_THAT_IS_NEVER_SET"));
    let beta = providers.iter().find(|p| p["name"] == "beta").unwrap();
    assert_eq!(beta["simulated"], true);
    assert_eq!(beta["kind"], "anthropic");
}

#[tokio::test]
async fn shutdown_waits_for_an_in_flight_stream() {
    let mut gw = TestGateway::start(false).await;
    let mut body = chat(
        "weak",
        "a fairly long answer with many words to stream one by one",
    );
    body["stream"] = json!(true);
    let resp = gw.post("/v1/chat/completions", body).await;
    assert_eq!(resp.status(), 200);
    let task = gw.stop();
    // The stream started before shutdown still completes.
    let text = resp.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .expect("serve returns after shutdown")
        .unwrap()
        .unwrap();
    // No new connections are accepted.
    assert!(gw.client.get(gw.url("/health")).send().await.is_err());
}
