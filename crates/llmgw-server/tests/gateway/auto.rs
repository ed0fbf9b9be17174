use serde_json::json;

use crate::support::{chat, expect_error, TestGateway};

#[tokio::test]
async fn auto_picks_the_cheapest_model_reaching_the_target_and_says_why() {
    let gw = TestGateway::start(true).await;
    // balanced: min_quality 0.5 -> weak (0.6) is cheapest; locked (cheaper) has no key.
    let resp = gw
        .post("/v1/chat/completions", chat("auto", "easy question"))
        .await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["x-llmgw-model"], "weak");
    assert_eq!(h["x-llmgw-provider"], "alpha");
    assert_eq!(h["x-llmgw-predicted-quality"], "0.6000");
    assert_eq!(h["x-llmgw-difficulty"], "0.2000");
    assert!(
        h["x-llmgw-estimated-cost-usd"]
            .to_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            > 0.0
    );
    assert!(
        h["x-llmgw-routing-ms"]
            .to_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            >= 0.0
    );
    assert!(h["x-llmgw-policy"]
        .to_str()
        .unwrap()
        .starts_with("balanced:"));
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["model"], "weak");
}

#[tokio::test]
async fn a_harder_prompt_or_a_higher_target_moves_to_a_stronger_model() {
    let gw = TestGateway::start(true).await;
    // weak drops to 0.3 on "hard": mid (borrows strong's 0.9, cheaper than strong) wins.
    let resp = gw
        .post("/v1/chat/completions", chat("auto", "a hard question"))
        .await;
    assert_eq!(resp.headers()["x-llmgw-model"], "mid");
    // Header target 0.8 on an easy prompt: weak (0.6) no longer qualifies.
    let resp = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .header("x-llmgw-min-quality", "0.8")
        .json(&chat("auto", "easy"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-llmgw-model"], "mid");
    // Body route restricts candidates.
    let mut body = chat("auto", "easy");
    body["route"] = json!({"min_quality": 0.8, "models": ["strong", "weak"]});
    let resp = gw.post("/v1/chat/completions", body).await;
    assert_eq!(resp.headers()["x-llmgw-model"], "strong");
}

#[tokio::test]
async fn a_cost_cap_excludes_expensive_models() {
    let gw = TestGateway::start(true).await;
    let mut body = chat("auto", "a hard question");
    // mid costs ~ (20 + 300) tokens * 1/1M = 0.00032 USD; weak ~0.000064.
    body["route"] = json!({"max_cost_usd": 0.0001});
    let resp = gw.post("/v1/chat/completions", body).await;
    assert_eq!(
        resp.headers()["x-llmgw-model"],
        "weak",
        "only weak fits the cap"
    );
}

#[tokio::test]
async fn named_policy_and_bad_policies() {
    let gw = TestGateway::start(true).await;
    // frugal: lambda tiny -> cost dominates -> weak
    let resp = gw
        .post(
            "/v1/chat/completions",
            chat("auto:frugal", "a hard question"),
        )
        .await;
    assert_eq!(resp.headers()["x-llmgw-model"], "weak");
    assert!(resp.headers()["x-llmgw-policy"]
        .to_str()
        .unwrap()
        .starts_with("frugal:"));

    let err = expect_error(
        gw.post("/v1/chat/completions", chat("auto:nope", "x"))
            .await,
        400,
    )
    .await;
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("balanced, frugal"));
    let mut body = chat("auto", "x");
    body["route"] = json!({"min_quality": 2.0});
    expect_error(gw.post("/v1/chat/completions", body).await, 400).await;
    let mut body = chat("auto", "x");
    body["route"] = json!({"colour": "red"});
    let err = expect_error(gw.post("/v1/chat/completions", body).await, 400).await;
    assert!(err["message"].as_str().unwrap().contains("colour"));
    let resp = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .header("x-llmgw-max-cost-usd", "lots")
        .json(&chat("auto", "x"))
        .send()
        .await
        .unwrap();
    let err = expect_error(resp, 400).await;
    assert_eq!(err["param"], "x-llmgw-max-cost-usd");
}

#[tokio::test]
async fn route_endpoint_explains_without_calling_upstream() {
    let gw = TestGateway::start(true).await;
    let resp = gw.post("/v1/route", chat("auto", "a hard question")).await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["model"], "mid");
    assert_eq!(body["routed"], true);
    assert_eq!(body["policy"]["policy"], "min_quality");
    assert_eq!(body["difficulty"], 0.8);
    let cands = body["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 4);
    let locked = cands.iter().find(|c| c["model"] == "locked").unwrap();
    assert_eq!(locked["eligible"], false);
    assert!(locked["reason"].as_str().unwrap().contains("no API key"));
    assert_eq!(body["ranked"][0], "mid");
    for up in gw.upstreams.values() {
        assert!(up.seen.lock().unwrap().is_empty(), "no provider was called");
    }
}
