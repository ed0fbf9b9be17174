#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Anthropic -> OpenAI response and stream translation, on payloads shaped like the
//! examples of Anthropic's Messages API reference.

mod common;

use common::assemble;
use llmgw_translate::anthropic::{
    from_anthropic_response, wire::MessagesResponse, AnthropicStream,
};
use llmgw_translate::TranslateError;
use llmgw_types::FinishReason;
use serde_json::json;

#[test]
fn text_response_with_cache_usage() {
    let body = json!({
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [{"type": "text", "text": "Hi! My name is Claude."}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 1800}
    });
    let resp: MessagesResponse = serde_json::from_value(body).unwrap();
    let out = from_anthropic_response(&resp, 1_700_000_000, None);
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["id"], "msg_013Zva2CMHLNnXjNJJKqJ2EF");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(
        v["choices"][0]["message"],
        json!({"role": "assistant", "content": "Hi! My name is Claude."})
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 3995, "completion_tokens": 503, "total_tokens": 4498,
               "prompt_tokens_details": {"cached_tokens": 1800, "cache_creation_tokens": 100}})
    );
}

#[test]
fn tool_use_response_and_finish_reasons() {
    let body = json!({
        "id": "msg_01Aq9w938a90dw8q", "type": "message", "role": "assistant", "model": "claude-3-5-sonnet-20241022",
        "content": [
            {"type": "thinking", "thinking": "I should call the tool", "signature": "abc"},
            {"type": "text", "text": "<thinking>I need to use get_weather</thinking>"},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA", "unit": "celsius"}},
            {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}}
        ],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 472, "output_tokens": 89}
    });
    let resp: MessagesResponse = serde_json::from_value(body).unwrap();
    let out = from_anthropic_response(&resp, 1, None);
    let c = &out.choices[0];
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    let calls = c.message.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].id, "toolu_01A09q90qw90lq917835lq9");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&calls[0].function.arguments).unwrap(),
        json!({"location": "San Francisco, CA", "unit": "celsius"})
    );
    assert_eq!(calls[1].function.arguments, "{}");
    assert_eq!(
        c.message.content.as_deref(),
        Some("<thinking>I need to use get_weather</thinking>")
    );
    assert!(out.usage.as_ref().unwrap().prompt_tokens_details.is_none());

    for (reason, expected) in [
        ("max_tokens", FinishReason::Length),
        ("stop_sequence", FinishReason::Stop),
        ("end_turn", FinishReason::Stop),
        ("refusal", FinishReason::ContentFilter),
    ] {
        let resp: MessagesResponse = serde_json::from_value(json!({
            "id": "m", "type": "message", "role": "assistant", "model": "c",
            "content": [{"type": "text", "text": "x"}], "stop_reason": reason, "usage": {"input_tokens": 1, "output_tokens": 1}
        }))
        .unwrap();
        assert_eq!(
            from_anthropic_response(&resp, 0, None).choices[0].finish_reason,
            Some(expected),
            "{reason}"
        );
    }
}

/// The SSE `data:` lines of a stream with text and two parallel tool calls whose
/// arguments arrive in many small pieces, shaped like Anthropic's streaming reference.
fn parallel_tool_stream() -> Vec<String> {
    let mut events = vec![
        json!({"type": "message_start", "message": {"id": "msg_014p7gG3wDgGV9EUtLvnow3U", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-20250514", "stop_sequence": null, "usage": {"input_tokens": 472, "output_tokens": 2, "cache_read_input_tokens": 400},
            "content": [], "stop_reason": null}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "ping"}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Okay"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ", checking both."}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "input": {}}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}}),
    ];
    for piece in [
        "{\"loc",
        "ation\":",
        " \"San",
        " Francisco,",
        " CA\"",
        ", \"unit\": \"fahr",
        "enheit\"}",
    ] {
        events.push(json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": piece}}));
    }
    events.push(json!({"type": "content_block_stop", "index": 1}));
    events.push(json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_02", "name": "get_time", "input": {}}}));
    for piece in ["{\"tz\"", ": \"America/", "Los_Angeles\"}"] {
        events.push(json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": piece}}));
    }
    events.push(json!({"type": "content_block_stop", "index": 2}));
    events.push(json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 89}}));
    events.push(json!({"type": "message_stop"}));
    events.into_iter().map(|e| e.to_string()).collect()
}

#[test]
fn stream_with_parallel_tool_calls_split_across_deltas() {
    let mut st = AnthropicStream::new("claude-sonnet-4", 7, true);
    let mut chunks = Vec::new();
    for data in parallel_tool_stream() {
        chunks.extend(st.feed(&data).unwrap());
    }
    chunks.extend(st.finish().unwrap());
    assert!(st.is_done());
    let (choices, usage) = assemble(&chunks);
    let c = &choices[&0];
    assert_eq!(c.content, "Okay, checking both.");
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(c.tool_calls.len(), 2);
    let (id0, name0, args0) = &c.tool_calls[&0];
    assert_eq!(
        (id0.as_str(), name0.as_str()),
        ("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather")
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(args0).unwrap(),
        json!({"location": "San Francisco, CA", "unit": "fahrenheit"})
    );
    let (id1, name1, args1) = &c.tool_calls[&1];
    assert_eq!((id1.as_str(), name1.as_str()), ("toolu_02", "get_time"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(args1).unwrap(),
        json!({"tz": "America/Los_Angeles"})
    );
    let usage = usage.expect("usage chunk when include_usage");
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cached_tokens()
        ),
        (872, 89, 400)
    );
    // Each argument piece is passed on as its own delta, not buffered.
    let arg_deltas = chunks
        .iter()
        .filter(|c| c.choices.iter().any(|ch| ch.delta.tool_calls.is_some()))
        .count();
    assert_eq!(arg_deltas, 2 + 7 + 3);
    assert!(chunks
        .iter()
        .all(|c| c.id == "msg_014p7gG3wDgGV9EUtLvnow3U" && c.created == 7));
}

#[test]
fn no_usage_chunk_unless_asked() {
    let mut st = AnthropicStream::new("c", 0, false);
    let mut chunks = Vec::new();
    for data in parallel_tool_stream() {
        chunks.extend(st.feed(&data).unwrap());
    }
    assert!(chunks
        .iter()
        .all(|c| c.usage.is_none() && !c.choices.is_empty()));
}

#[test]
fn cut_stream_is_an_error() {
    let events = parallel_tool_stream();
    let mut st = AnthropicStream::new("c", 0, true);
    for data in &events[..9] {
        st.feed(data).unwrap();
    }
    assert!(!st.is_done());
    let err = st.finish().unwrap_err();
    assert_eq!(
        err,
        TranslateError::StreamIncomplete {
            provider: "anthropic"
        }
    );
    assert_eq!(err.to_openai_error().0, 502);
}

#[test]
fn error_event_mid_stream() {
    let mut st = AnthropicStream::new("c", 0, false);
    st.feed(&parallel_tool_stream()[0]).unwrap();
    let err = st
        .feed(
            r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#,
        )
        .unwrap_err();
    let (status, body) = err.to_openai_error();
    assert_eq!(status, 503);
    assert!(body.error.message.contains("anthropic") && body.error.message.contains("Overloaded"));
}

#[test]
fn garbage_event_is_invalid_response() {
    let mut st = AnthropicStream::new("c", 0, false);
    assert!(
        st.feed(r#"{"type": "some_future_event", "x": 1}"#)
            .unwrap()
            .is_empty(),
        "unknown events are ignored"
    );
    assert!(matches!(
        st.feed("<html>"),
        Err(TranslateError::InvalidResponse { .. })
    ));
    assert!(matches!(
        st.feed(r#"{"type":"content_block_delta","index":5,"delta":{"type":"input_json_delta","partial_json":"{"}}"#),
        Err(TranslateError::InvalidResponse { .. })
    ));
}

#[test]
fn json_tool_call_becomes_text_whole_and_streamed() {
    let resp: MessagesResponse = serde_json::from_value(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "c",
        "content": [{"type": "tool_use", "id": "toolu_9", "name": "book", "input": {"title": "Dune", "pages": 412}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 5}
    }))
    .unwrap();
    let out = from_anthropic_response(&resp, 0, Some("book"));
    let c = &out.choices[0];
    assert!(c.message.tool_calls.is_none());
    assert_eq!(c.finish_reason, Some(FinishReason::Stop));
    let text: serde_json::Value =
        serde_json::from_str(c.message.content.as_deref().unwrap()).unwrap();
    assert_eq!(text, json!({"title": "Dune", "pages": 412}));

    let events = [
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "c", "content": [], "usage": {"input_tokens": 10, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_9", "name": "book", "input": {}}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"title\": \"Du"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "ne\", \"pages\": 412}"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}}),
        json!({"type": "message_stop"}),
    ];
    let mut st = AnthropicStream::new("c", 0, false).with_json_tool(Some("book".into()));
    let mut chunks = Vec::new();
    for e in events {
        chunks.extend(st.feed(&e.to_string()).unwrap());
    }
    let (choices, _) = assemble(&chunks);
    assert!(choices[&0].tool_calls.is_empty());
    assert_eq!(choices[&0].finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&choices[&0].content).unwrap(),
        json!({"title": "Dune", "pages": 412})
    );
}
