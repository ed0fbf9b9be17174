//! The simulated Gemini generateContent API, driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

const MODEL: &str = "gemini-2.0-flash";

fn tools() -> Value {
    json!([{"functionDeclarations": [
        {"name": "get_weather", "description": "Current weather", "parameters": {
            "type": "OBJECT", "properties": {"location": {"type": "STRING"}, "metric": {"type": "BOOLEAN"}},
            "required": ["location"]}},
        {"name": "get_time", "parameters": {"type": "OBJECT", "properties": {"zone": {"type": "STRING"}}}}
    ]}])
}

fn ask(prompt: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": prompt}]}]})
}

#[tokio::test]
async fn non_streaming_answer_has_the_generate_content_shape() {
    let sim = sim().await;
    let body = json!({
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hello there"}]}],
        "generationConfig": {"temperature": 0.2, "maxOutputTokens": 500}
    });
    let resp = gemini(&sim, MODEL, "generateContent", "", &body).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    let cand = &v["candidates"][0];
    assert_eq!(cand["content"]["role"], "model");
    assert_eq!(cand["finishReason"], "STOP");
    assert_eq!(cand["index"], 0);
    let text = cand["content"]["parts"][0]["text"].as_str().unwrap();
    let u = &v["usageMetadata"];
    assert_eq!(u["promptTokenCount"], 3 + 3 + 4);
    assert_eq!(u["candidatesTokenCount"], est(text));
    assert_eq!(u["totalTokenCount"], 10 + est(text));
    assert_eq!(v["modelVersion"], MODEL);
    assert!(v["responseId"].is_string());
}

#[tokio::test]
async fn sse_stream_reassembles_to_the_same_answer() {
    let sim = sim().await;
    let whole: Value = gemini(
        &sim,
        MODEL,
        "generateContent",
        "",
        &ask("Tell me something"),
    )
    .await
    .json()
    .await
    .unwrap();
    let resp = gemini(
        &sim,
        MODEL,
        "streamGenerateContent",
        "?alt=sse",
        &ask("Tell me something"),
    )
    .await;
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let read = read_body(resp).await;
    assert!(!read.failed);
    assert!(
        read.text.contains("\r\n\r\n"),
        "Gemini separates events with CRLF"
    );
    let chunks = sse_json(&read.text);
    assert!(chunks.len() > 2);
    let text: String = chunks
        .iter()
        .filter_map(|c| {
            c["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(
        text,
        whole["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap()
    );
    assert!(chunks[..chunks.len() - 1]
        .iter()
        .all(|c| c["candidates"][0].get("finishReason").is_none()));
    let last = chunks.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"], whole["usageMetadata"]);
}

#[tokio::test]
async fn stream_without_alt_sse_is_a_json_array() {
    let sim = sim().await;
    let resp = gemini(
        &sim,
        MODEL,
        "streamGenerateContent",
        "",
        &ask("Tell me something"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let read = read_body(resp).await;
    let arr: Value = serde_json::from_str(&read.text).unwrap();
    let arr = arr.as_array().unwrap();
    assert!(arr.len() > 2);
    assert_eq!(arr.last().unwrap()["candidates"][0]["finishReason"], "STOP");
}

#[tokio::test]
async fn tools_yield_function_calls() {
    let sim = sim().await;
    let mut body = ask("Weather in Paris?");
    body["tools"] = tools();
    let v: Value = gemini(&sim, MODEL, "generateContent", "", &body)
        .await
        .json()
        .await
        .unwrap();
    let parts = v["candidates"][0]["content"]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["functionCall"]["name"], "get_weather");
    assert!(parts[0]["functionCall"]["args"]["location"].is_string());
    assert!(parts[0]["functionCall"]["args"]["metric"].is_boolean());
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");

    body["toolConfig"] =
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}});
    let v: Value = gemini(&sim, MODEL, "generateContent", "", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["candidates"][0]["content"]["parts"][0]["functionCall"]["name"],
        "get_time"
    );
    body["toolConfig"] = json!({"functionCallingConfig": {"mode": "NONE"}});
    let v: Value = gemini(&sim, MODEL, "generateContent", "", &body)
        .await
        .json()
        .await
        .unwrap();
    assert!(v["candidates"][0]["content"]["parts"][0]["text"].is_string());
}

#[tokio::test]
async fn parallel_function_calls_stream_as_separate_chunks() {
    let sim = sim().await;
    let mut body = ask("Weather and time [[sim:parallel_tools]]");
    body["tools"] = tools();
    let read =
        read_body(gemini(&sim, MODEL, "streamGenerateContent", "?alt=sse", &body).await).await;
    let chunks = sse_json(&read.text);
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["candidates"][0]["content"]["parts"][0].get("functionCall"))
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["name"], "get_weather");
    assert_eq!(calls[1]["name"], "get_time");
    let whole: Value = gemini(&sim, MODEL, "generateContent", "", &body)
        .await
        .json()
        .await
        .unwrap();
    let parts = whole["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(&parts[1]["functionCall"], calls[1]);
}

#[tokio::test]
async fn after_a_function_response_the_answer_is_text_about_it() {
    let sim = sim().await;
    let body = json!({"tools": tools(), "contents": [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp": "12C"}}}]}
    ]});
    let resp = gemini(&sim, MODEL, "generateContent", "", &body).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    let text = v["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        text.contains("12C") && text.contains("get_weather"),
        "{text}"
    );
}

#[tokio::test]
async fn json_mime_type_and_schema_give_json() {
    let sim = sim().await;
    let mut body = ask("A recipe");
    body["generation_config"] = json!({"response_mime_type": "application/json", "response_schema": {
        "type": "OBJECT", "properties": {"name": {"type": "STRING"}, "minutes": {"type": "INTEGER"}}}});
    let v: Value = gemini(&sim, MODEL, "generateContent", "", &body)
        .await
        .json()
        .await
        .unwrap();
    let obj: Value = serde_json::from_str(
        v["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(obj["name"].is_string() && obj["minutes"].is_i64());

    let mut body = ask("A fact");
    body["generationConfig"] = json!({"responseMimeType": "application/json"});
    let v: Value = gemini(&sim, MODEL, "generateContent", "", &body)
        .await
        .json()
        .await
        .unwrap();
    let obj: Value = serde_json::from_str(
        v["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(obj.is_object());
}

#[tokio::test]
async fn api_key_is_required_in_header_or_query() {
    let sim = sim().await;
    let url = format!(
        "{}/v1beta/models/{MODEL}:generateContent",
        sim.gemini_base_url()
    );
    let resp = client().post(&url).json(&ask("hi")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], 401);
    assert_eq!(v["error"]["status"], "UNAUTHENTICATED");
    let resp = client()
        .post(format!("{url}?key=abc"))
        .json(&ask("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen = sim.recent_requests();
    assert!(
        seen.iter().all(|r| !r.path.contains("abc")),
        "the key never shows in recorded paths"
    );
}

#[tokio::test]
async fn strict_validation_rejects_bad_shapes() {
    let sim = sim().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}),
            "Please use a valid role: user, model.",
        ),
        (
            json!({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}),
            "Please use a valid role",
        ),
        (json!({"contents": []}), "contents is not specified"),
        (
            json!({"contents": [{"role": "user", "parts": []}]}),
            "contents.parts must not be empty",
        ),
        (
            json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}], "temperature": 1}),
            "Unknown name \"temperature\"",
        ),
        (
            json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}], "generationConfig": {"max_tokens": 5}}),
            "Unknown name \"max_tokens\" at 'generation_config'",
        ),
        (
            json!({"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}]}),
            "function response turn comes immediately after a function call turn",
        ),
        (
            json!({"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]}]}),
            "function call turn comes immediately after a user turn",
        ),
        (
            json!({"contents": [
            {"role": "user", "parts": [{"text": "x"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}, {"functionCall": {"name": "g", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}]}),
            "number of function response parts is equal to the number of function call parts",
        ),
        (
            json!({"contents": [{"role": "user", "parts": [{}]}]}),
            "required oneof field 'data'",
        ),
        (
            json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "tools": [{"functionDeclarations": [{"name": "9bad name"}]}]}),
            "Invalid function name",
        ),
    ];
    for (body, expected) in cases {
        let resp = gemini(&sim, MODEL, "generateContent", "", &body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
        let msg = error_message(P::Gemini, &v);
        assert!(msg.contains(expected), "{body}: {msg}");
    }
    let resp = gemini(&sim, MODEL, "countTokensPlease", "", &ask("x")).await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn candidate_count_and_max_output_tokens() {
    let sim = sim().await;
    let mut body = ask("Write an essay");
    body["generationConfig"] = json!({"candidateCount": 2, "maxOutputTokens": 4});
    let v: Value = gemini(&sim, MODEL, "generateContent", "", &body)
        .await
        .json()
        .await
        .unwrap();
    let cands = v["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 2);
    assert!(cands.iter().all(|c| c["finishReason"] == "MAX_TOKENS"));
    assert_ne!(cands[0]["content"], cands[1]["content"]);
    assert_eq!(v["usageMetadata"]["candidatesTokenCount"], 8);
}
