#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! OpenAI -> Gemini request translation.

use llmgw_translate::gemini::{join_signature, to_gemini_request};
use llmgw_translate::TranslateError;
use llmgw_types::ChatCompletionRequest;
use serde_json::{json, Value};

fn translate(body: Value) -> Value {
    let req: ChatCompletionRequest = serde_json::from_value(body).unwrap();
    serde_json::to_value(to_gemini_request(&req).unwrap()).unwrap()
}

#[test]
fn full_conversation_with_tools() {
    let out = translate(json!({
        "model": "gemini-2.5-flash",
        "messages": [
            {"role": "system", "content": "You are a lighting assistant."},
            {"role": "user", "content": "Dim the lights and set them warm."},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "set_light_values", "arguments": "{\"brightness\":25,\"color_temp\":\"warm\"}"}},
                {"id": "call_b", "type": "function", "function": {"name": "log", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "{\"brightness\":25,\"colorTemperature\":\"warm\"}"},
            {"role": "tool", "tool_call_id": "call_b", "content": "ok"},
            {"role": "assistant", "content": "Done."},
            {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/photo.webp"}}]}
        ],
        "tools": [
            {"type": "function", "function": {"name": "set_light_values", "description": "Sets the brightness and color temperature of a light.",
                "parameters": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "additionalProperties": false,
                    "properties": {"brightness": {"type": "integer", "description": "0-100"}, "color_temp": {"type": "string", "enum": ["daylight", "cool", "warm"]}},
                    "required": ["brightness", "color_temp"]}, "strict": true}},
            {"type": "function", "function": {"name": "log", "parameters": {"type": "object", "properties": {}}}}
        ],
        "tool_choice": {"type": "function", "function": {"name": "set_light_values"}},
        "temperature": 0.5, "top_p": 0.8, "max_tokens": 256, "stop": "STOP!", "seed": 42, "n": 2,
        "presence_penalty": 0.1, "frequency_penalty": 0.2, "user": "ignored"
    }));
    assert_eq!(
        out,
        json!({
            "systemInstruction": {"parts": [{"text": "You are a lighting assistant."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Dim the lights and set them warm."}]},
                {"role": "model", "parts": [
                    {"functionCall": {"name": "set_light_values", "args": {"brightness": 25, "color_temp": "warm"}}},
                    {"functionCall": {"name": "log", "args": {}}}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "set_light_values", "response": {"brightness": 25, "colorTemperature": "warm"}}},
                    {"functionResponse": {"name": "log", "response": {"result": "ok"}}}
                ]},
                {"role": "model", "parts": [{"text": "Done."}]},
                {"role": "user", "parts": [
                    {"text": "What is this?"},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                    {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/photo.webp"}}
                ]}
            ],
            "tools": [{"functionDeclarations": [
                {"name": "set_light_values", "description": "Sets the brightness and color temperature of a light.",
                    "parameters": {"type": "object",
                        "properties": {"brightness": {"type": "integer", "description": "0-100"}, "color_temp": {"type": "string", "enum": ["daylight", "cool", "warm"]}},
                        "required": ["brightness", "color_temp"]}},
                {"name": "log"}
            ]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["set_light_values"]}},
            "generationConfig": {"temperature": 0.5, "topP": 0.8, "maxOutputTokens": 256, "stopSequences": ["STOP!"],
                "seed": 42, "candidateCount": 2, "presencePenalty": 0.1, "frequencyPenalty": 0.2}
        })
    );
}

#[test]
fn json_modes() {
    let out = translate(
        json!({"model": "g", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}),
    );
    assert_eq!(
        out["generationConfig"],
        json!({"responseMimeType": "application/json"})
    );
    let out = translate(
        json!({"model": "g", "messages": [{"role": "user", "content": "x"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "s", "strict": true,
            "schema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false}}}}),
    );
    assert_eq!(
        out["generationConfig"],
        json!({"responseMimeType": "application/json",
               "responseSchema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}})
    );
}

#[test]
fn tool_choice_modes() {
    let with = |tc: Value| {
        translate(json!({"model": "g", "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
            "tool_choice": tc}))["toolConfig"]["functionCallingConfig"]["mode"]
            .clone()
    };
    assert_eq!(with(json!("none")), "NONE");
    assert_eq!(with(json!("auto")), "AUTO");
    assert_eq!(with(json!("required")), "ANY");
}

#[test]
fn thought_signature_is_sent_back() {
    let id = join_signature("call_x", Some("CvsBAb4+sig"));
    let out = translate(json!({"model": "gemini-3-pro", "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": id, "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": id, "content": "1"}
    ]}));
    assert_eq!(
        out["contents"][1]["parts"][0]["thoughtSignature"],
        "CvsBAb4+sig"
    );
    assert_eq!(
        out["contents"][2]["parts"][0]["functionResponse"]["name"],
        "f"
    );
}

#[test]
fn unmatched_tool_call_id_is_a_bad_request() {
    let req: ChatCompletionRequest = serde_json::from_value(json!({"model": "g", "messages": [
        {"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "nope", "content": "1"}]}))
    .unwrap();
    let err = to_gemini_request(&req).unwrap_err();
    assert!(
        matches!(&err, TranslateError::InvalidRequest { param: Some(p), .. } if p == "messages[1].tool_call_id")
    );
    assert!(err.to_string().contains("nope"));
}

#[test]
fn audio_and_files_inline() {
    let out = translate(
        json!({"model": "g", "messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}}
        ]}]}),
    );
    assert_eq!(
        out["contents"][0]["parts"],
        json!([{"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
               {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}}])
    );
}
