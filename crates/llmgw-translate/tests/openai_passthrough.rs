#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! OpenAI-compatible pass-through helpers.

mod common;

use common::assemble;
use llmgw_translate::openai::{parse_response, upstream_body, OpenAiStream};
use llmgw_types::{ChatCompletionRequest, FinishReason};
use serde_json::json;

#[test]
fn upstream_body_forwards_unknown_fields_but_not_gateway_ones() {
    let req: ChatCompletionRequest = serde_json::from_value(json!({
        "model": "llama3", "messages": [{"role": "user", "content": "hi"}], "stream": true,
        "top_k": 40, "route": {"policy": "cheap"}
    }))
    .unwrap();
    let body: serde_json::Value =
        serde_json::from_slice(&serde_json::to_vec(&upstream_body(&req)).unwrap()).unwrap();
    assert_eq!(body["top_k"], 40);
    assert!(body.get("route").is_none());
    assert_eq!(body["stream"], true);
    assert_eq!(body["messages"][0]["content"], "hi");
    assert!(
        body.get("stream_options").is_none(),
        "nothing is added that the client did not send"
    );
}

fn stream_events() -> Vec<String> {
    vec![
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]}),
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]}, "finish_reason": null}]}),
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":"}}]}, "finish_reason": null}]}),
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}, "finish_reason": null}]}),
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}),
    ]
    .into_iter()
    .map(|v| v.to_string())
    .chain(std::iter::once("[DONE]".to_string()))
    .collect()
}

#[test]
fn stream_passes_chunks_and_filters_usage_by_request() {
    for include_usage in [true, false] {
        let mut st = OpenAiStream::new(include_usage);
        let mut chunks = Vec::new();
        for e in stream_events() {
            chunks.extend(st.feed(&e).unwrap());
        }
        chunks.extend(st.finish().unwrap());
        let (choices, usage) = assemble(&chunks);
        assert_eq!(choices[&0].finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(choices[&0].tool_calls[&0].2, "{\"a\":1}");
        assert_eq!(usage.is_some(), include_usage);
    }
}

#[test]
fn cut_stream_and_error_event() {
    let mut st = OpenAiStream::new(false);
    for e in &stream_events()[..3] {
        st.feed(e).unwrap();
    }
    assert!(st.finish().is_err());
    let mut st = OpenAiStream::new(false);
    let err = st
        .feed(r#"{"error": {"message": "Rate limit reached", "type": "rate_limit_exceeded"}}"#)
        .unwrap_err();
    assert_eq!(err.to_openai_error().0, 429);
}

#[test]
fn parse_response_rejects_garbage() {
    assert!(parse_response("{\"nope\": 1}").is_err());
    let ok = parse_response(
        &json!({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]})
        .to_string(),
    )
    .unwrap();
    assert_eq!(ok.text(), Some("hi"));
}
