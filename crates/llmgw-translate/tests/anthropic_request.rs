#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! OpenAI -> Anthropic request translation.

use llmgw_translate::anthropic::{json_tool_name, to_anthropic_request, JSON_MODE_INSTRUCTION};
use llmgw_translate::TranslateError;
use llmgw_types::ChatCompletionRequest;
use serde_json::{json, Value};

fn translate(body: Value) -> Value {
    let req: ChatCompletionRequest = serde_json::from_value(body).unwrap();
    serde_json::to_value(to_anthropic_request(&req, None).unwrap()).unwrap()
}

fn translate_err(body: Value) -> TranslateError {
    let req: ChatCompletionRequest = serde_json::from_value(body).unwrap();
    to_anthropic_request(&req, None).unwrap_err()
}

#[test]
fn system_lifted_roles_merged_and_tools_mapped() {
    let out = translate(json!({
        "model": "claude-sonnet-4-20250514",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric units."}]},
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "user", "content": "Quickly."},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "toolu_01A", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "toolu_01B", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "toolu_01A", "content": "18C"},
            {"role": "tool", "tool_call_id": "toolu_01B", "content": [{"type": "text", "text": "22C"}]},
            {"role": "user", "content": "Thanks"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
        "tool_choice": "required",
        "parallel_tool_calls": false,
        "max_completion_tokens": 300,
        "temperature": 1.6,
        "top_p": 0.9,
        "stop": ["END", "\n"],
        "user": "user-42",
        "seed": 1
    }));
    assert_eq!(
        out,
        json!({
            "model": "claude-sonnet-4-20250514",
            "system": "You are terse.\n\nUse metric units.",
            "max_tokens": 300,
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Weather in Paris and Rome?"},
                    {"type": "text", "text": "Quickly."}
                ]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_01B", "name": "get_weather", "input": {"city": "Rome"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A", "content": [{"type": "text", "text": "18C"}]},
                    {"type": "tool_result", "tool_use_id": "toolu_01B", "content": [{"type": "text", "text": "22C"}]},
                    {"type": "text", "text": "Thanks"}
                ]}
            ],
            "tools": [{"name": "get_weather", "description": "Get weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "temperature": 1.0,
            "top_p": 0.9,
            "stop_sequences": ["END"],
            "metadata": {"user_id": "user-42"}
        })
    );
}

#[test]
fn images_become_base64_or_url_sources() {
    let out = translate(json!({
        "model": "claude-3-5-haiku-latest",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Compare"},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}},
            {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/cat.png", "detail": "low"}}
        ]}]
    }));
    assert_eq!(out["max_tokens"], 8192, "default for claude-3-5");
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"type": "text", "text": "Compare"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}},
            {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/cat.png"}}
        ])
    );
}

#[test]
fn max_tokens_always_sent_with_model_default() {
    let out = translate(
        json!({"model": "claude-3-haiku-20240307", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}),
    );
    assert_eq!(
        out["max_tokens"], 0,
        "an explicit limit is passed on as given"
    );
    let out = translate(
        json!({"model": "claude-3-haiku-20240307", "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(out["max_tokens"], 4096);
    let req: ChatCompletionRequest = serde_json::from_value(
        json!({"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    assert_eq!(
        to_anthropic_request(&req, Some(1234)).unwrap().max_tokens,
        1234
    );
}

#[test]
fn json_modes_become_system_instruction() {
    let out = translate(json!({
        "model": "claude-sonnet-4-5", "messages": [{"role": "system", "content": "Be nice."}, {"role": "user", "content": "List 3 colours"}],
        "response_format": {"type": "json_object"}
    }));
    assert_eq!(
        out["system"],
        format!("Be nice.\n\n{JSON_MODE_INSTRUCTION}")
    );
}

#[test]
fn json_schema_becomes_a_forced_tool() {
    let body = json!({
        "model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "List 3 colours"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "colours", "schema":
            {"type": "object", "properties": {"colours": {"type": "array", "items": {"type": "string"}}}, "required": ["colours"]}}}
    });
    let req: ChatCompletionRequest = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(json_tool_name(&req).as_deref(), Some("colours"));
    let out = translate(body.clone());
    assert!(out.get("system").is_none());
    assert_eq!(
        out["tool_choice"],
        json!({"type": "tool", "name": "colours"})
    );
    assert_eq!(out["tools"][0]["name"], "colours");
    assert_eq!(
        out["tools"][0]["input_schema"]["required"],
        json!(["colours"])
    );

    // With the client's own tools, the schema goes into the system prompt instead.
    let mut with_tools = body;
    with_tools["tools"] = json!([{"type": "function", "function": {"name": "f"}}]);
    let req: ChatCompletionRequest = serde_json::from_value(with_tools.clone()).unwrap();
    assert!(json_tool_name(&req).is_none());
    let out = translate(with_tools);
    let system = out["system"].as_str().unwrap();
    assert!(system.starts_with(JSON_MODE_INSTRUCTION));
    assert!(system.contains(r#""required":["colours"]"#));
    assert_eq!(out["tools"][0]["name"], "f");
}

#[test]
fn leading_assistant_turn_gets_a_user_turn_before_it() {
    let out = translate(json!({"model": "claude-x", "messages": [
        {"role": "system", "content": "s"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "hi"}
    ]}));
    let msgs = out["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[0]["role"], "user");
    assert_eq!(msgs[1]["role"], "assistant");
}

#[test]
fn tool_choice_variants() {
    let base = |tc: Value| {
        translate(
            json!({"model": "c", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": tc}),
        )
    };
    assert_eq!(base(json!("auto"))["tool_choice"], json!({"type": "auto"}));
    assert_eq!(base(json!("none"))["tool_choice"], json!({"type": "none"}));
    assert_eq!(
        base(json!({"type": "function", "function": {"name": "f"}}))["tool_choice"],
        json!({"type": "tool", "name": "f"})
    );
    assert_eq!(
        base(json!("auto"))["tools"][0]["input_schema"],
        json!({"type": "object", "properties": {}}),
        "a tool without parameters still gets an object schema"
    );
    // tool_choice without tools is dropped rather than sent (Anthropic rejects it).
    let out = translate(
        json!({"model": "c", "messages": [{"role": "user", "content": "x"}], "tool_choice": "required"}),
    );
    assert!(out.get("tool_choice").is_none());
}

#[test]
fn bad_requests_name_the_parameter() {
    let e = translate_err(
        json!({"model": "c", "messages": [{"role": "user", "content": "x"}], "n": 2}),
    );
    assert!(matches!(&e, TranslateError::InvalidRequest { param: Some(p), .. } if p == "n"));
    assert_eq!(e.to_openai_error().0, 400);
    let e = translate_err(json!({"model": "c", "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "not json"}}]}
    ]}));
    assert!(
        matches!(&e, TranslateError::InvalidRequest { param: Some(p), .. } if p == "messages[1].tool_calls[0].function.arguments")
    );
    let e = translate_err(json!({"model": "c", "messages": [{"role": "tool", "content": "x"}]}));
    assert!(
        matches!(&e, TranslateError::InvalidRequest { param: Some(p), .. } if p == "messages[0].tool_call_id")
    );
    let e = translate_err(
        json!({"model": "c", "messages": [{"role": "system", "content": "only system"}]}),
    );
    assert!(matches!(e, TranslateError::InvalidRequest { .. }));
    let e = translate_err(
        json!({"model": "c", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]}),
    );
    assert!(e.to_string().contains("audio"));
}

#[test]
fn stream_flag_passes_and_empty_text_is_dropped() {
    let out = translate(json!({"model": "c", "stream": true, "messages": [
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "again"}
    ]}));
    assert_eq!(out["stream"], true);
    assert_eq!(
        out["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "again"}]}])
    );
}
