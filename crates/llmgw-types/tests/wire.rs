#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Wire-format tests on payloads shaped like OpenAI's API reference.

use llmgw_types::*;
use serde_json::json;

#[test]
fn parses_full_request_and_keeps_unknown_fields() {
    let body = json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "system", "content": [{"type": "text", "text": "sys"}]},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "high"}}
            ], "name": "alice"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, "strict": true}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "temperature": 0.2, "top_p": 0.9, "max_tokens": 100, "max_completion_tokens": 50,
        "stop": ["END", "\n\n"], "seed": 7, "user": "u-1", "n": 1,
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": true}},
        "stream": true, "stream_options": {"include_usage": true},
        "logit_bias": {"50256": -100}, "route": {"policy": "cheap"}
    });
    let req: ChatCompletionRequest = serde_json::from_value(body).unwrap();
    assert_eq!(req.messages.len(), 5);
    assert_eq!(req.messages[0].role, Role::Developer);
    assert_eq!(req.messages[1].text(), "sys");
    assert_eq!(req.messages[2].parts().len(), 2);
    assert_eq!(
        req.messages[3].tool_calls.as_ref().unwrap()[0]
            .function
            .name,
        "get_weather"
    );
    assert_eq!(req.messages[4].tool_call_id.as_deref(), Some("call_1"));
    assert!(
        matches!(req.tool_choice, Some(ToolChoice::Named(ref n)) if n.function.name == "get_weather")
    );
    assert_eq!(req.output_token_limit(), Some(50));
    assert_eq!(req.stop_sequences(), vec!["END", "\n\n"]);
    assert!(req.is_stream() && req.include_usage() && req.has_tools());
    assert!(req.response_format.as_ref().unwrap().is_json());
    assert!(req.extra.contains_key("logit_bias"));
    let upstream = req.upstream_extra();
    assert!(upstream.contains_key("logit_bias"));
    assert!(
        !upstream.contains_key("route"),
        "gateway fields are never forwarded"
    );
    // Unknown fields survive a round trip; None fields are omitted.
    let back = serde_json::to_value(&req).unwrap();
    assert_eq!(back["logit_bias"]["50256"], -100);
    assert!(back["messages"][3].get("content").is_none());
}

#[test]
fn tool_choice_modes_and_stop_string() {
    for (s, m) in [
        ("none", ToolChoiceMode::None),
        ("auto", ToolChoiceMode::Auto),
        ("required", ToolChoiceMode::Required),
    ] {
        let tc: ToolChoice = serde_json::from_value(json!(s)).unwrap();
        assert_eq!(tc, ToolChoice::Mode(m));
    }
    let req: ChatCompletionRequest =
        serde_json::from_value(json!({"model": "m", "messages": [], "stop": "x", "response_format": {"type": "json_object"}}))
            .unwrap();
    assert_eq!(req.stop_sequences(), vec!["x"]);
    assert_eq!(req.response_format, Some(ResponseFormat::JsonObject));
    assert!(serde_json::from_value::<ToolChoice>(json!("sometimes")).is_err());
}

#[test]
fn rejects_unknown_role() {
    let r = serde_json::from_value::<ChatCompletionRequest>(
        json!({"model": "m", "messages": [{"role": "wizard", "content": "hi"}]}),
    );
    assert!(r.is_err());
}

#[test]
fn response_round_trip_matches_openai_shape() {
    let body = json!({
        "id": "chatcmpl-123", "object": "chat.completion", "created": 1677652288, "model": "gpt-4o-mini",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_abc", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            "logprobs": null, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21,
            "prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 2}}
    });
    let resp: ChatCompletionResponse = serde_json::from_value(body).unwrap();
    assert_eq!(resp.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    let usage = resp.usage.clone().unwrap();
    assert_eq!((usage.cached_tokens(), usage.reasoning_tokens()), (4, 2));
    let v = serde_json::to_value(&resp).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert!(
        v["choices"][0]["message"]["content"].is_null(),
        "content is sent as null"
    );
    assert!(v["choices"][0].get("logprobs").is_none());
    assert_eq!(
        v["choices"][0]["message"]["tool_calls"][0]["type"],
        "function"
    );
}

#[test]
fn chunk_shapes() {
    let c = ChatCompletionChunk::with_delta(
        "id1",
        "m",
        1,
        ChunkDelta {
            tool_calls: Some(vec![ToolCallDelta {
                index: 1,
                id: None,
                kind: None,
                function: Some(FunctionCallDelta {
                    name: None,
                    arguments: Some("{\"a\"".into()),
                }),
            }]),
            ..Default::default()
        },
        None,
    );
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["object"], "chat.completion.chunk");
    assert!(v["choices"][0]["finish_reason"].is_null());
    assert_eq!(v["choices"][0]["delta"]["tool_calls"][0]["index"], 1);
    assert!(v["choices"][0]["delta"]["tool_calls"][0]
        .get("id")
        .is_none());
    assert!(v.get("usage").is_none());
    let u = ChatCompletionChunk::usage_only("id1", "m", 1, Usage::new(3, 4));
    let v = serde_json::to_value(&u).unwrap();
    assert_eq!(v["choices"], json!([]));
    assert_eq!(v["usage"]["total_tokens"], 7);
}

#[test]
fn error_body_shape_and_status() {
    let e = ErrorBody::invalid_request("bad").with_param("messages");
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(
        v,
        json!({"error": {"message": "bad", "type": "invalid_request_error", "param": "messages", "code": null}})
    );
    assert_eq!(e.default_status(), 400);
    assert_eq!(
        ApiError::from(ErrorBody::rate_limit("slow down")).status,
        429
    );
    assert_eq!(ApiError::model_not_found("x").status, 404);
    assert_eq!(ErrorBody::timeout("t").default_status(), 504);
}

#[test]
fn model_list_shape() {
    let l = ModelList::new(vec![ModelObject::new("gpt-4o", 0, "openai")]);
    assert_eq!(
        serde_json::to_value(&l).unwrap(),
        json!({"object": "list", "data": [{"id": "gpt-4o", "object": "model", "created": 0, "owned_by": "openai"}]})
    );
}

#[test]
fn finish_reason_reads_leniently_and_writes_openai_words() {
    for (wire, expected) in [
        ("stop", FinishReason::Stop),
        ("eos", FinishReason::Stop),
        ("length", FinishReason::Length),
        ("max_tokens", FinishReason::Length),
        ("tool_calls", FinishReason::ToolCalls),
        ("content_filter", FinishReason::ContentFilter),
    ] {
        let r: FinishReason = serde_json::from_value(json!(wire)).unwrap();
        assert_eq!(r, expected, "{wire}");
    }
    assert_eq!(
        serde_json::to_value(FinishReason::ToolCalls).unwrap(),
        json!("tool_calls")
    );
    assert_eq!(FinishReason::ContentFilter.as_str(), "content_filter");
}
