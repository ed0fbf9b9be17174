//! Helpers shared by the integration tests: clients for each provider and stream readers.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use llmgw_sim::{SimConfig, SimServer};
use serde_json::Value;

/// A provider, for tests that run the same check against all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum P {
    OpenAi,
    Anthropic,
    Gemini,
}

pub const ALL: [P; 3] = [P::OpenAi, P::Anthropic, P::Gemini];

pub async fn sim() -> SimServer {
    SimServer::start(SimConfig::default()).await.unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

pub async fn openai(sim: &SimServer, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/chat/completions", sim.openai_base_url()))
        .bearer_auth("sk-test")
        .json(body)
        .send()
        .await
        .unwrap()
}

pub async fn anthropic(sim: &SimServer, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1/messages", sim.anthropic_base_url()))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap()
}

/// `action` is `generateContent` or `streamGenerateContent`; `query` e.g. `"?alt=sse"` or `""`.
pub async fn gemini(
    sim: &SimServer,
    model: &str,
    action: &str,
    query: &str,
    body: &Value,
) -> reqwest::Response {
    client()
        .post(format!(
            "{}/v1beta/models/{model}:{action}{query}",
            sim.gemini_base_url()
        ))
        .header("x-goog-api-key", "g-test")
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A one-message request for `p` with `prompt` as the user text.
pub fn simple_body(p: P, model: &str, prompt: &str, stream: bool) -> Value {
    match p {
        P::OpenAi => serde_json::json!({
            "model": model, "stream": stream,
            "messages": [{"role": "user", "content": prompt}]
        }),
        P::Anthropic => serde_json::json!({
            "model": model, "max_tokens": 1024, "stream": stream,
            "messages": [{"role": "user", "content": prompt}]
        }),
        P::Gemini => {
            serde_json::json!({"contents": [{"role": "user", "parts": [{"text": prompt}]}]})
        }
    }
}

/// Sends `prompt` to provider `p` (streaming or not) with the model `model`.
pub async fn send(
    sim: &SimServer,
    p: P,
    model: &str,
    prompt: &str,
    stream: bool,
) -> reqwest::Response {
    let body = simple_body(p, model, prompt, stream);
    match p {
        P::OpenAi => openai(sim, &body).await,
        P::Anthropic => anthropic(sim, &body).await,
        P::Gemini => {
            let (action, query) = if stream {
                ("streamGenerateContent", "?alt=sse")
            } else {
                ("generateContent", "")
            };
            gemini(sim, model, action, query, &body).await
        }
    }
}

/// Everything a streamed body delivered, with arrival times, and whether it ended in an error.
pub struct Read {
    pub text: String,
    pub arrivals: Vec<(Duration, String)>,
    pub failed: bool,
}

pub async fn read_body(resp: reqwest::Response) -> Read {
    let start = Instant::now();
    let mut stream = resp.bytes_stream();
    let mut text = String::new();
    let mut arrivals = Vec::new();
    let mut failed = false;
    while let Some(item) = stream.next().await {
        match item {
            Ok(bytes) => {
                let s = String::from_utf8_lossy(&bytes).into_owned();
                text.push_str(&s);
                arrivals.push((start.elapsed(), s));
            }
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    Read {
        text,
        arrivals,
        failed,
    }
}

/// Server-sent events of a body: (event name, data), blank-line separated, `\n` or `\r\n`.
pub fn sse_events(text: &str) -> Vec<(Option<String>, String)> {
    let normalized = text.replace("\r\n", "\n");
    normalized
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = Some(e.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push(d.to_string());
                }
            }
            (event, data.join("\n"))
        })
        .collect()
}

/// The JSON payloads of the `data:` events (skipping `[DONE]`).
pub fn sse_json(text: &str) -> Vec<Value> {
    sse_events(text)
        .into_iter()
        .filter(|(_, d)| d != "[DONE]")
        .map(|(_, d)| serde_json::from_str(&d).unwrap())
        .collect()
}

/// Text of a non-streaming answer of provider `p`.
pub fn answer_text(p: P, body: &Value) -> String {
    match p {
        P::OpenAi => body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_string(),
        P::Anthropic => body["content"][0]["text"].as_str().unwrap().to_string(),
        P::Gemini => body["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .to_string(),
    }
}

/// Completion tokens a non-streaming answer of provider `p` reports.
pub fn completion_tokens(p: P, body: &Value) -> u64 {
    match p {
        P::OpenAi => body["usage"]["completion_tokens"].as_u64().unwrap(),
        P::Anthropic => body["usage"]["output_tokens"].as_u64().unwrap(),
        P::Gemini => body["usageMetadata"]["candidatesTokenCount"]
            .as_u64()
            .unwrap(),
    }
}

/// Asserts `body` is `p`'s error shape and returns its message.
pub fn error_message(p: P, body: &Value) -> String {
    match p {
        P::OpenAi => {
            let e = &body["error"];
            assert!(e["type"].is_string(), "{body}");
            assert!(
                e.get("param").is_some() && e.get("code").is_some(),
                "{body}"
            );
            e["message"].as_str().unwrap().to_string()
        }
        P::Anthropic => {
            assert_eq!(body["type"], "error", "{body}");
            assert!(body["error"]["type"].is_string(), "{body}");
            body["error"]["message"].as_str().unwrap().to_string()
        }
        P::Gemini => {
            let e = &body["error"];
            assert!(e["code"].is_u64(), "{body}");
            assert!(e["status"].is_string(), "{body}");
            e["message"].as_str().unwrap().to_string()
        }
    }
}

/// Estimated tokens of `text` by the documented rule.
pub fn est(text: &str) -> u64 {
    text.chars().count().div_ceil(4) as u64
}
