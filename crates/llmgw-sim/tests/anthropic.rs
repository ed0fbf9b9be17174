//! The simulated Anthropic Messages API, driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{json, Value};

const MODEL: &str = "claude-3-5-haiku-20241022";

fn tools() -> Value {
    json!([
        {"name": "get_weather", "description": "Current weather", "input_schema": {
            "type": "object", "properties": {"location": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 5}},
            "required": ["location"]}},
        {"name": "get_time", "input_schema": {"type": "object", "properties": {"zone": {"type": "string"}}}}
    ])
}

#[tokio::test]
async fn non_streaming_answer_has_the_message_shape_and_usage() {
    let sim = sim().await;
    let body = json!({"model": MODEL, "max_tokens": 512, "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hello there"}]});
    let resp = anthropic(&sim, &body).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert!(v["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(v["model"], MODEL);
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(v["stop_sequence"].is_null());
    let content = v["content"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    assert_eq!(content[0]["type"], "text");
    let text = content[0]["text"].as_str().unwrap();
    assert_eq!(v["usage"]["input_tokens"], 3 + 3 + 4);
    assert_eq!(v["usage"]["output_tokens"], est(text));
    assert_eq!(v["usage"]["cache_read_input_tokens"], 0);
    assert_eq!(v["usage"]["cache_creation_input_tokens"], 0);
}

#[tokio::test]
async fn stream_has_every_event_type_in_order() {
    let sim = sim().await;
    let plain = json!({"model": MODEL, "max_tokens": 512, "messages": [{"role": "user", "content": "Tell me something"}]});
    let whole: Value = anthropic(&sim, &plain).await.json().await.unwrap();
    let mut body = plain.clone();
    body["stream"] = json!(true);
    let resp = anthropic(&sim, &body).await;
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let read = read_body(resp).await;
    assert!(!read.failed);
    let events = sse_events(&read.text);
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_deref().unwrap()).collect();
    assert_eq!(
        &names[..3],
        &["message_start", "content_block_start", "ping"]
    );
    assert_eq!(
        &names[names.len() - 3..],
        &["content_block_stop", "message_delta", "message_stop"]
    );
    assert!(names[3..names.len() - 3]
        .iter()
        .all(|n| *n == "content_block_delta"));
    for (name, data) in &events {
        let v: Value = serde_json::from_str(data).unwrap();
        assert_eq!(
            v["type"],
            name.as_deref().unwrap(),
            "event name matches data type"
        );
    }
    let datas: Vec<Value> = events
        .iter()
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    let start = &datas[0]["message"];
    assert_eq!(start["content"], json!([]));
    assert!(start["stop_reason"].is_null());
    assert_eq!(
        start["usage"]["input_tokens"],
        whole["usage"]["input_tokens"]
    );
    let text: String = datas
        .iter()
        .filter(|d| d["type"] == "content_block_delta")
        .map(|d| {
            assert_eq!(d["delta"]["type"], "text_delta");
            d["delta"]["text"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(text, whole["content"][0]["text"].as_str().unwrap());
    let delta = &datas[datas.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(
        delta["usage"]["output_tokens"],
        whole["usage"]["output_tokens"]
    );
}

#[tokio::test]
async fn tools_yield_text_then_tool_use_blocks() {
    let sim = sim().await;
    let body = json!({"model": MODEL, "max_tokens": 512, "tools": tools(),
        "messages": [{"role": "user", "content": "Weather in Paris?"}]});
    let v: Value = anthropic(&sim, &body).await.json().await.unwrap();
    assert_eq!(v["stop_reason"], "tool_use");
    let content = v["content"].as_array().unwrap();
    assert_eq!(content.len(), 2);
    assert_eq!(content[0]["type"], "text");
    assert_eq!(content[1]["type"], "tool_use");
    assert!(content[1]["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(content[1]["name"], "get_weather");
    assert!(content[1]["input"]["location"].is_string());
    let days = content[1]["input"]["days"].as_i64().unwrap();
    assert!((1..=5).contains(&days));

    let mut named = body.clone();
    named["tool_choice"] = json!({"type": "tool", "name": "get_time"});
    let v: Value = anthropic(&sim, &named).await.json().await.unwrap();
    assert_eq!(v["content"][1]["name"], "get_time");
    let mut none = body.clone();
    none["tool_choice"] = json!({"type": "none"});
    let v: Value = anthropic(&sim, &none).await.json().await.unwrap();
    assert_eq!(v["stop_reason"], "end_turn");
}

#[tokio::test]
async fn parallel_tool_use_streams_input_json_deltas() {
    let sim = sim().await;
    let body = json!({"model": MODEL, "max_tokens": 512, "stream": true, "tools": tools(),
        "messages": [{"role": "user", "content": "Weather and time [[sim:parallel_tools]]"}]});
    let read = read_body(anthropic(&sim, &body).await).await;
    assert!(!read.failed);
    let datas: Vec<Value> = sse_events(&read.text)
        .iter()
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    let mut blocks: BTreeMap<u64, (Value, String, usize)> = BTreeMap::new();
    for d in &datas {
        match d["type"].as_str().unwrap() {
            "content_block_start" => {
                blocks.insert(
                    d["index"].as_u64().unwrap(),
                    (d["content_block"].clone(), String::new(), 0),
                );
            }
            "content_block_delta" => {
                let b = blocks.get_mut(&d["index"].as_u64().unwrap()).unwrap();
                let piece = match d["delta"]["type"].as_str().unwrap() {
                    "text_delta" => d["delta"]["text"].as_str().unwrap(),
                    "input_json_delta" => d["delta"]["partial_json"].as_str().unwrap(),
                    other => panic!("unexpected delta {other}"),
                };
                b.1.push_str(piece);
                if !piece.is_empty() {
                    b.2 += 1;
                }
            }
            _ => {}
        }
    }
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[&0].0["type"], "text");
    for (i, name) in [(1u64, "get_weather"), (2, "get_time")] {
        let (start, json_text, deltas) = &blocks[&i];
        assert_eq!(start["type"], "tool_use");
        assert_eq!(start["name"], name);
        assert_eq!(start["input"], json!({}));
        assert!(*deltas >= 2, "input split across deltas");
        assert!(serde_json::from_str::<Value>(json_text)
            .unwrap()
            .is_object());
    }
    let delta = datas.iter().find(|d| d["type"] == "message_delta").unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");

    // disable_parallel_tool_use keeps one call.
    let mut one = body.clone();
    one["stream"] = json!(false);
    one["tool_choice"] = json!({"type": "auto", "disable_parallel_tool_use": true});
    let v: Value = anthropic(&sim, &one).await.json().await.unwrap();
    assert_eq!(v["content"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn after_a_tool_result_the_answer_is_text_about_it() {
    let sim = sim().await;
    let first = json!({"model": MODEL, "max_tokens": 512, "tools": tools(),
        "messages": [{"role": "user", "content": "Weather in Paris?"}]});
    let v: Value = anthropic(&sim, &first).await.json().await.unwrap();
    let assistant = v["content"].clone();
    let id = assistant[1]["id"].clone();
    let follow = json!({"model": MODEL, "max_tokens": 512, "tools": tools(), "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": assistant},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": [{"type": "text", "text": "18 degrees, rain"}]}]}
    ]});
    let resp = anthropic(&sim, &follow).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["stop_reason"], "end_turn");
    let text = v["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("18 degrees, rain") && text.contains("get_weather"),
        "{text}"
    );
}

#[tokio::test]
async fn a_system_prompt_asking_for_json_gets_json() {
    let sim = sim().await;
    let body = json!({"model": MODEL, "max_tokens": 512,
        "system": [{"type": "text", "text": "Respond only with a valid JSON object."}],
        "messages": [{"role": "user", "content": "Give me a fact"}]});
    let v: Value = anthropic(&sim, &body).await.json().await.unwrap();
    let obj: Value = serde_json::from_str(v["content"][0]["text"].as_str().unwrap()).unwrap();
    assert!(obj.is_object());
}

#[tokio::test]
async fn auth_and_version_headers_are_required() {
    let sim = sim().await;
    let body = simple_body(P::Anthropic, MODEL, "hi", false);
    let url = format!("{}/v1/messages", sim.anthropic_base_url());
    let resp = client()
        .post(&url)
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "authentication_error");

    let resp = client()
        .post(&url)
        .header("x-api-key", "k")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert!(error_message(P::Anthropic, &v).contains("anthropic-version"));

    let resp = client()
        .post(&url)
        .header("x-api-key", "k")
        .header("anthropic-version", "2099-01-01")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn strict_validation_rejects_bad_shapes() {
    let sim = sim().await;
    let user = json!({"role": "user", "content": "hi"});
    let assistant = json!({"role": "assistant", "content": "hello"});
    let tool_use = json!({"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"model": MODEL, "messages": [user]}),
            "max_tokens: Field required",
        ),
        (
            json!({"max_tokens": 10, "messages": [user]}),
            "model: Field required",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10}),
            "messages: Field required",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10, "messages": [user, user]}),
            "roles must alternate",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10, "messages": [assistant, user]}),
            "first message must use the \"user\" role",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10, "messages": [{"role": "system", "content": "x"}, user]}),
            "Unexpected role \"system\"",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": ""}]}),
            "non-empty content",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10, "messages": [user, assistant,
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}]}]}),
            "unexpected `tool_use_id`",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10, "messages": [user, tool_use, user]}),
            "`tool_use` ids were found without `tool_result` blocks",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10, "messages": [user, tool_use,
            {"role": "user", "content": [{"type": "text", "text": "first"}, {"type": "tool_result", "tool_use_id": "toolu_1"}]}]}),
            "must come first",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10, "messages": [user], "n": 2}),
            "n: Extra inputs are not permitted",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10, "messages": [user], "temperature": 1.5}),
            "less than or equal to 1",
        ),
        (
            json!({"model": MODEL, "max_tokens": 0, "messages": [user]}),
            "greater than or equal to 1",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10, "messages": [user], "tools": [{"name": "f"}]}),
            "input_schema: Field required",
        ),
        (
            json!({"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "bogus"}]}]}),
            "does not match any of the expected tags",
        ),
    ];
    for (body, expected) in cases {
        let resp = anthropic(&sim, &body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        let msg = error_message(P::Anthropic, &v);
        assert!(msg.contains(expected), "{body}: {msg}");
    }
}

#[tokio::test]
async fn stop_sequences_max_tokens_and_cached_tokens() {
    let sim = sim().await;
    let base = json!({"model": MODEL, "max_tokens": 512, "messages": [{"role": "user", "content": "Write an essay"}]});
    let full: Value = anthropic(&sim, &base).await.json().await.unwrap();
    let text = full["content"][0]["text"].as_str().unwrap();
    let stop = text.split(' ').nth(3).unwrap().to_string();

    let mut body = base.clone();
    body["stop_sequences"] = json!([stop]);
    let v: Value = anthropic(&sim, &body).await.json().await.unwrap();
    assert_eq!(v["stop_reason"], "stop_sequence");
    assert_eq!(v["stop_sequence"], stop.as_str());
    assert!(text.starts_with(v["content"][0]["text"].as_str().unwrap()));

    let mut body = base.clone();
    body["max_tokens"] = json!(2);
    let v: Value = anthropic(&sim, &body).await.json().await.unwrap();
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(v["usage"]["output_tokens"], 2);

    let body = json!({"model": MODEL, "max_tokens": 512,
        "messages": [{"role": "user", "content": "A long shared prefix [[sim:cached_tokens=5]]"}]});
    let v: Value = anthropic(&sim, &body).await.json().await.unwrap();
    let total = est("A long shared prefix [[sim:cached_tokens=5]]") + 4;
    assert_eq!(v["usage"]["cache_read_input_tokens"], 5);
    assert_eq!(v["usage"]["input_tokens"], total - 5);
}
