#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Gemini -> OpenAI response and stream translation, on payloads shaped like the examples
//! of the Gemini API reference.

mod common;

use common::assemble;
use llmgw_translate::gemini::{
    from_gemini_response, split_signature, wire::GenerateContentResponse, GeminiStream,
};
use llmgw_translate::TranslateError;
use llmgw_types::FinishReason;
use serde_json::{json, Value};

fn parse(v: Value) -> GenerateContentResponse {
    serde_json::from_value(v).unwrap()
}

#[test]
fn text_response_with_usage() {
    let resp = parse(json!({
        "candidates": [{"content": {"parts": [{"text": "AI learns patterns "}, {"text": "from data."}], "role": "model"},
            "finishReason": "STOP", "avgLogprobs": -0.2, "index": 0}],
        "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 12, "totalTokenCount": 40,
            "thoughtsTokenCount": 20, "cachedContentTokenCount": 4,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}]},
        "modelVersion": "gemini-2.5-flash", "responseId": "mAitaLmkHPPlz7IPvtfUqQ4"
    }));
    let out = from_gemini_response(&resp, "gemini-2.5-flash", 9);
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["id"], "chatcmpl-mAitaLmkHPPlz7IPvtfUqQ4");
    assert_eq!(v["model"], "gemini-2.5-flash");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "AI learns patterns from data."
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 8, "completion_tokens": 32, "total_tokens": 40,
               "prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 20}})
    );
}

#[test]
fn function_calls_get_stable_ids() {
    let body = json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "thinking...", "thought": true},
            {"functionCall": {"name": "set_light_values", "args": {"brightness": 25, "color_temp": "warm"}}, "thoughtSignature": "CiQBsig"},
            {"functionCall": {"name": "get_time", "args": {}}}
        ]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 10, "totalTokenCount": 60},
        "responseId": "r1"
    });
    let a = from_gemini_response(&parse(body.clone()), "gemini-2.0-flash", 1);
    let b = from_gemini_response(&parse(body), "gemini-2.0-flash", 2);
    let c = &a.choices[0];
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(c.message.content, None, "thought text is not answer text");
    let calls = c.message.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 2);
    assert_ne!(calls[0].id, calls[1].id);
    assert_eq!(
        calls[0].id,
        b.choices[0].message.tool_calls.as_ref().unwrap()[0].id,
        "stable"
    );
    assert_eq!(split_signature(&calls[0].id).1, Some("CiQBsig"));
    assert_eq!(
        serde_json::from_str::<Value>(&calls[0].function.arguments).unwrap(),
        json!({"brightness": 25, "color_temp": "warm"})
    );
    assert_eq!(a.model, "gemini-2.0-flash");
}

#[test]
fn finish_reasons_and_blocked_prompt() {
    for (reason, expected) in [
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("RECITATION", FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", FinishReason::ContentFilter),
        ("STOP", FinishReason::Stop),
        ("OTHER", FinishReason::Stop),
    ] {
        let r = parse(
            json!({"candidates": [{"content": {"parts": [{"text": "x"}], "role": "model"}, "finishReason": reason}]}),
        );
        assert_eq!(
            from_gemini_response(&r, "g", 0).choices[0].finish_reason,
            Some(expected),
            "{reason}"
        );
    }
    let r = parse(
        json!({"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
        "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5}}),
    );
    let out = from_gemini_response(&r, "g", 0);
    assert_eq!(
        out.choices[0].finish_reason,
        Some(FinishReason::ContentFilter)
    );
    assert_eq!(out.usage.unwrap().prompt_tokens, 5);
}

fn sse(events: &[Value]) -> Vec<String> {
    events.iter().map(Value::to_string).collect()
}

#[test]
fn stream_text_then_parallel_function_calls() {
    let usage = |c: u64| json!({"promptTokenCount": 30, "candidatesTokenCount": c, "totalTokenCount": 30 + c});
    let events = sse(&[
        json!({"candidates": [{"content": {"parts": [{"text": "Let me"}], "role": "model"}, "index": 0}], "usageMetadata": usage(2), "modelVersion": "gemini-2.5-flash", "responseId": "abc"}),
        json!({"candidates": [{"content": {"parts": [{"text": " check."}], "role": "model"}, "index": 0}], "usageMetadata": usage(4), "modelVersion": "gemini-2.5-flash", "responseId": "abc"}),
        json!({"candidates": [{"content": {"parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}
        ], "role": "model"}, "index": 0}], "usageMetadata": usage(20), "modelVersion": "gemini-2.5-flash", "responseId": "abc"}),
        json!({"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_time", "args": {"tz": "CET"}}}], "role": "model"},
            "finishReason": "STOP", "index": 0}], "usageMetadata": usage(25), "modelVersion": "gemini-2.5-flash", "responseId": "abc"}),
    ]);
    let mut st = GeminiStream::new("gemini-2.5-flash", 3, true);
    let mut chunks = Vec::new();
    for e in &events {
        chunks.extend(st.feed(e).unwrap());
    }
    chunks.extend(st.finish().unwrap());
    let (choices, usage) = assemble(&chunks);
    let c = &choices[&0];
    assert_eq!(c.content, "Let me check.");
    assert_eq!(c.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(c.tool_calls.len(), 3);
    let args: Vec<Value> = c
        .tool_calls
        .values()
        .map(|t| serde_json::from_str(&t.2).unwrap())
        .collect();
    assert_eq!(
        args,
        vec![
            json!({"city": "Paris"}),
            json!({"city": "Rome"}),
            json!({"tz": "CET"})
        ]
    );
    assert_eq!(c.tool_calls[&2].1, "get_time");
    let usage = usage.unwrap();
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (30, 25, 55)
    );

    // The streamed ids are the ids the non-streamed answer would have had.
    let whole = parse(
        json!({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Let me check."},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
        {"functionCall": {"name": "get_time", "args": {"tz": "CET"}}}
    ]}, "finishReason": "STOP", "index": 0}], "responseId": "abc"}),
    );
    let resp = from_gemini_response(&whole, "g", 0);
    let ids: Vec<&str> = resp.choices[0]
        .message
        .tool_calls
        .as_ref()
        .unwrap()
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    let streamed: Vec<&str> = c.tool_calls.values().map(|t| t.0.as_str()).collect();
    assert_eq!(ids, streamed);
}

#[test]
fn stream_two_candidates() {
    let events = sse(&[
        json!({"candidates": [
            {"content": {"parts": [{"text": "A"}], "role": "model"}, "index": 0},
            {"content": {"parts": [{"text": "B"}], "role": "model"}, "index": 1}]}),
        json!({"candidates": [
            {"content": {"parts": [{"text": "a"}], "role": "model"}, "finishReason": "STOP", "index": 0},
            {"content": {"parts": [{"text": "b"}], "role": "model"}, "finishReason": "MAX_TOKENS", "index": 1}]}),
    ]);
    let mut st = GeminiStream::new("g", 0, false);
    let mut chunks = Vec::new();
    for e in &events {
        chunks.extend(st.feed(e).unwrap());
    }
    chunks.extend(st.finish().unwrap());
    let (choices, usage) = assemble(&chunks);
    assert!(usage.is_none());
    assert_eq!(choices[&0].content, "Aa");
    assert_eq!(choices[&1].content, "Bb");
    assert_eq!(choices[&1].finish_reason, Some(FinishReason::Length));
}

#[test]
fn stream_without_finish_reason_is_cut() {
    let mut st = GeminiStream::new("g", 0, true);
    st.feed(&json!({"candidates": [{"content": {"parts": [{"text": "Hel"}], "role": "model"}, "index": 0}]}).to_string())
        .unwrap();
    assert_eq!(
        st.finish().unwrap_err(),
        TranslateError::StreamIncomplete { provider: "gemini" }
    );
    let mut empty = GeminiStream::new("g", 0, true);
    assert!(
        empty.finish().is_err(),
        "a stream with no event at all is incomplete too"
    );
}

#[test]
fn stream_error_event() {
    let mut st = GeminiStream::new("g", 0, false);
    let err = st
        .feed(r#"{"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}"#)
        .unwrap_err();
    assert_eq!(err.to_openai_error().0, 429);
}
