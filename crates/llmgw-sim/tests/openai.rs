//! The simulated OpenAI chat-completions API, driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{json, Value};

fn weather_tools() -> Value {
    json!([
        {"type": "function", "function": {
            "name": "get_weather",
            "description": "Current weather",
            "parameters": {"type": "object", "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
            }, "required": ["location"]}
        }},
        {"type": "function", "function": {
            "name": "get_time",
            "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}
        }}
    ])
}

#[tokio::test]
async fn non_streaming_answer_has_the_chat_completion_shape_and_usage() {
    let sim = sim().await;
    let body = json!({"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello there"}
    ]});
    let resp = openai(&sim, &body).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert!(v["created"].is_u64());
    assert_eq!(v["model"], "gpt-4o-mini");
    let choice = &v["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["message"]["role"], "assistant");
    let content = choice["message"]["content"].as_str().unwrap();
    assert!(!content.is_empty());
    assert!(choice["message"].get("tool_calls").is_none());
    // Prompt: "Be brief." (3) + "Hello there" (3) + 2 messages x 4.
    assert_eq!(v["usage"]["prompt_tokens"], 3 + 3 + 8);
    assert_eq!(v["usage"]["completion_tokens"], est(content));
    assert_eq!(v["usage"]["total_tokens"], 14 + est(content));
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
}

#[tokio::test]
async fn stream_is_chat_completion_chunks_with_usage_and_done() {
    let sim = sim().await;
    let plain =
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Tell me something"}]});
    let whole: Value = openai(&sim, &plain).await.json().await.unwrap();
    let mut streamed = plain.clone();
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let resp = openai(&sim, &streamed).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let read = read_body(resp).await;
    assert!(!read.failed);
    let events = sse_events(&read.text);
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let chunks = sse_json(&read.text);
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk"));
    let id = chunks[0]["id"].clone();
    assert!(chunks.iter().all(|c| c["id"] == id));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| {
            c["choices"].get(0)?["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(
        text,
        whole["choices"][0]["message"]["content"].as_str().unwrap()
    );
    assert!(chunks.len() > 4, "several content chunks expected");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert_eq!(finish["choices"][0]["delta"], json!({}));
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"], whole["usage"]);
    assert!(chunks[..chunks.len() - 1]
        .iter()
        .all(|c| c["usage"].is_null()));

    // Without include_usage there is no usage field at all.
    streamed.as_object_mut().unwrap().remove("stream_options");
    let chunks = sse_json(&read_body(openai(&sim, &streamed).await).await.text);
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
}

#[tokio::test]
async fn answers_are_deterministic_per_request_and_model() {
    let sim = sim().await;
    let ask = |model: &str, prompt: &str| json!({"model": model, "messages": [{"role": "user", "content": prompt}]});
    let a: Value = openai(&sim, &ask("m1", "What is Rust?"))
        .await
        .json()
        .await
        .unwrap();
    let b: Value = openai(&sim, &ask("m1", "What is Rust?"))
        .await
        .json()
        .await
        .unwrap();
    let c: Value = openai(&sim, &ask("m1", "What is Go?"))
        .await
        .json()
        .await
        .unwrap();
    let d: Value = openai(&sim, &ask("m2", "What is Rust?"))
        .await
        .json()
        .await
        .unwrap();
    let text = |v: &Value| {
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(text(&a), text(&b));
    assert_ne!(a["id"], b["id"], "response ids are unique");
    assert_ne!(text(&a), text(&c));
    assert_ne!(text(&a), text(&d));
}

#[tokio::test]
async fn tools_yield_a_tool_call_with_schema_arguments() {
    let sim = sim().await;
    let body = json!({"model": "gpt-4o", "tools": weather_tools(),
        "messages": [{"role": "user", "content": "Weather in Paris?"}]});
    let v: Value = openai(&sim, &body).await.json().await.unwrap();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert!(choice["message"]["content"].is_null());
    let calls = choice["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert!(calls[0]["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args: Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert!(args["location"].is_string());
    assert!(["celsius", "fahrenheit"].contains(&args["unit"].as_str().unwrap()));
    let again: Value = openai(&sim, &body).await.json().await.unwrap();
    assert_eq!(
        again["choices"][0]["message"]["tool_calls"],
        choice["message"]["tool_calls"]
    );

    // tool_choice names a tool; "none" forbids calls.
    let mut named = body.clone();
    named["tool_choice"] = json!({"type": "function", "function": {"name": "get_time"}});
    let v: Value = openai(&sim, &named).await.json().await.unwrap();
    assert_eq!(
        v["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_time"
    );
    let mut none = body.clone();
    none["tool_choice"] = json!("none");
    let v: Value = openai(&sim, &none).await.json().await.unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["choices"][0]["message"]["content"].is_string());
}

#[tokio::test]
async fn parallel_tool_calls_stream_with_arguments_split_across_deltas() {
    let sim = sim().await;
    let body = json!({"model": "gpt-4o", "stream": true, "tools": weather_tools(),
        "messages": [{"role": "user", "content": "Paris weather and time [[sim:parallel_tools]]"}]});
    let read = read_body(openai(&sim, &body).await).await;
    assert!(!read.failed);
    let chunks = sse_json(&read.text);
    let mut calls: BTreeMap<u64, (String, String, String, usize)> = BTreeMap::new();
    for c in &chunks {
        let Some(tcs) = c["choices"][0]["delta"]["tool_calls"].as_array() else {
            continue;
        };
        for tc in tcs {
            let entry = calls.entry(tc["index"].as_u64().unwrap()).or_default();
            if let Some(id) = tc["id"].as_str() {
                entry.0 = id.to_string();
                entry.1 = tc["function"]["name"].as_str().unwrap().to_string();
            }
            let piece = tc["function"]["arguments"].as_str().unwrap();
            if !piece.is_empty() {
                entry.2.push_str(piece);
                entry.3 += 1;
            }
        }
    }
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[&0].1, "get_weather");
    assert_eq!(calls[&1].1, "get_time");
    assert_ne!(calls[&0].0, calls[&1].0);
    for (_, _, args, deltas) in calls.values() {
        assert!(*deltas >= 2, "arguments split across deltas");
        assert!(serde_json::from_str::<Value>(args).unwrap().is_object());
    }
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );

    // The streamed calls equal the non-streamed ones.
    let mut plain = body.clone();
    plain["stream"] = json!(false);
    let v: Value = openai(&sim, &plain).await.json().await.unwrap();
    let whole = v["choices"][0]["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(whole.len(), 2);
    assert_eq!(whole[1]["id"].as_str().unwrap(), calls[&1].0);
    assert_eq!(
        whole[1]["function"]["arguments"].as_str().unwrap(),
        calls[&1].2
    );

    // parallel_tool_calls=false keeps one call.
    plain["parallel_tool_calls"] = json!(false);
    let v: Value = openai(&sim, &plain).await.json().await.unwrap();
    assert_eq!(
        v["choices"][0]["message"]["tool_calls"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn after_a_tool_result_the_answer_is_text_about_it() {
    let sim = sim().await;
    let first = json!({"model": "gpt-4o", "tools": weather_tools(),
        "messages": [{"role": "user", "content": "Weather in Paris?"}]});
    let v: Value = openai(&sim, &first).await.json().await.unwrap();
    let call = v["choices"][0]["message"]["tool_calls"][0].clone();
    let follow = json!({"model": "gpt-4o", "tools": weather_tools(), "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null, "tool_calls": [call.clone()]},
        {"role": "tool", "tool_call_id": call["id"], "content": "22 degrees and sunny"}
    ]});
    let v: Value = openai(&sim, &follow).await.json().await.unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.contains("22 degrees and sunny"), "{text}");
    assert!(text.contains("get_weather"));
}

#[tokio::test]
async fn json_modes_answer_with_json_objects() {
    let sim = sim().await;
    let body = json!({"model": "gpt-4o", "response_format": {"type": "json_object"},
        "messages": [{"role": "user", "content": "List a fact as JSON"}]});
    let v: Value = openai(&sim, &body).await.json().await.unwrap();
    let obj: Value =
        serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert!(obj.is_object());

    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "Describe a person"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "person", "strict": true, "schema": {
            "type": "object", "additionalProperties": false, "required": ["name", "age", "tags"],
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}}}}}}});
    let v: Value = openai(&sim, &body).await.json().await.unwrap();
    let obj: Value =
        serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert!(obj["name"].is_string() && obj["age"].is_i64() && obj["tags"].is_array());

    // json_object requires the word JSON in the messages, as the real API does.
    let body = json!({"model": "gpt-4o", "response_format": {"type": "json_object"},
        "messages": [{"role": "user", "content": "List a fact"}]});
    let resp = openai(&sim, &body).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["param"], "messages");
}

#[tokio::test]
async fn missing_or_malformed_auth_gets_openai_401() {
    let sim = sim().await;
    let body = simple_body(P::OpenAi, "gpt-4o", "hi", false);
    let url = format!("{}/chat/completions", sim.openai_base_url());
    for req in [
        client().post(&url).json(&body),
        client()
            .post(&url)
            .header("authorization", "Bearer ")
            .json(&body),
        client()
            .post(&url)
            .header("authorization", "sk-no-bearer")
            .json(&body),
    ] {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(v["error"]["message"].as_str().unwrap().contains("API key"));
        assert!(v["error"].get("param").is_some() && v["error"].get("code").is_some());
    }
    let resp = client()
        .get(format!("{}/models", sim.openai_base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn strict_validation_rejects_bad_shapes() {
    let sim = sim().await;
    let user = json!({"role": "user", "content": "hi"});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"model": "m", "messages": [user], "foo": 1}),
            "Unrecognized request argument supplied: foo",
        ),
        (
            json!({"messages": [user]}),
            "you must provide a model parameter",
        ),
        (json!({"model": "m", "messages": []}), "empty array"),
        (
            json!({"model": "m"}),
            "Missing required parameter: 'messages'",
        ),
        (
            json!({"model": "m", "messages": [{"role": "robot", "content": "x"}]}),
            "Invalid value: 'robot'",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": 5}]}),
            "Invalid type for 'messages[0].content'",
        ),
        (
            json!({"model": "m", "messages": [user, {"role": "tool", "tool_call_id": "x", "content": "r"}]}),
            "must be a response to a preceeding message with 'tool_calls'",
        ),
        (
            json!({"model": "m", "messages": [user, {"role": "assistant", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}, user]}),
            "did not have response messages: call_1",
        ),
        (
            json!({"model": "m", "messages": [user], "stream_options": {"include_usage": true}}),
            "only allowed when 'stream' is enabled",
        ),
        (
            json!({"model": "m", "messages": [user], "temperature": 3}),
            "decimal above maximum value",
        ),
        (
            json!({"model": "m", "messages": [user], "max_tokens": 0}),
            "integer below minimum value",
        ),
        (
            json!({"model": "m", "messages": [user], "tools": []}),
            "empty array",
        ),
        (
            json!({"model": "m", "messages": [user], "tool_choice": "auto"}),
            "only allowed when 'tools' are specified",
        ),
        (
            json!({"model": "m", "messages": [user], "tools": [{"type": "function", "function": {"name": "bad name"}}]}),
            "does not match pattern",
        ),
        (
            json!({"model": "m", "messages": [user], "stop": ["a", "b", "c", "d", "e"]}),
            "array too long",
        ),
    ];
    for (body, expected) in cases {
        let resp = openai(&sim, &body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let v: Value = resp.json().await.unwrap();
        let msg = error_message(P::OpenAi, &v);
        assert!(msg.contains(expected), "{body}: {msg}");
        assert_eq!(v["error"]["type"], "invalid_request_error");
    }
    let resp = client()
        .post(format!("{}/chat/completions", sim.openai_base_url()))
        .bearer_auth("k")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert!(error_message(P::OpenAi, &v).contains("could not parse the JSON body"));
}

#[tokio::test]
async fn unknown_fields_inside_accepted_parameters_and_extras_pass() {
    let sim = sim().await;
    let body = json!({"model": "m", "user": "u1", "seed": 7, "top_p": 0.5, "max_completion_tokens": 50,
    "messages": [
        {"role": "developer", "content": [{"type": "text", "text": "Be kind."}]},
        {"role": "user", "name": "ann", "content": [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
        ]}
    ]});
    let resp = openai(&sim, &body).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    // "Be kind." (2) + "What is in this image?" (6) + image 85 + 2 messages x 4.
    assert_eq!(v["usage"]["prompt_tokens"], 2 + 6 + 85 + 8);
}

#[tokio::test]
async fn max_tokens_truncates_and_n_gives_distinct_choices() {
    let sim = sim().await;
    let body = json!({"model": "m", "max_tokens": 3, "messages": [{"role": "user", "content": "Write an essay"}]});
    let v: Value = openai(&sim, &body).await.json().await.unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 3);

    let body =
        json!({"model": "m", "n": 2, "messages": [{"role": "user", "content": "Write an essay"}]});
    let v: Value = openai(&sim, &body).await.json().await.unwrap();
    let choices = v["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    assert_eq!(choices[1]["index"], 1);
    assert_ne!(
        choices[0]["message"]["content"],
        choices[1]["message"]["content"]
    );
    let total: u64 = choices
        .iter()
        .map(|c| est(c["message"]["content"].as_str().unwrap()))
        .sum();
    assert_eq!(v["usage"]["completion_tokens"], total);

    let body = json!({"model": "m", "stop": ["e"], "messages": [{"role": "user", "content": "Write an essay"}]});
    let v: Value = openai(&sim, &body).await.json().await.unwrap();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(!v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .contains('e'));
}

#[tokio::test]
async fn models_endpoint_lists_configured_models() {
    let cfg = llmgw_sim::SimConfig::default()
        .with_model(llmgw_sim::SimModel::new("gpt-4o", 0, 0.0))
        .with_model(llmgw_sim::SimModel::new("gpt-4o-mini", 0, 0.0));
    let sim = llmgw_sim::SimServer::start(cfg).await.unwrap();
    let v: Value = client()
        .get(format!("{}/models", sim.openai_base_url()))
        .bearer_auth("k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["gpt-4o", "gpt-4o-mini"]);
    assert_eq!(v["data"][0]["object"], "model");
}
