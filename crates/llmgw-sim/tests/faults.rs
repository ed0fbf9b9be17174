//! Fault directives and injected faults, checked against every provider.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use llmgw_sim::{Fault, ANY_MODEL};
use serde_json::Value;

const MODEL: &str = "sim-model";

#[tokio::test]
async fn status_directives_return_provider_error_bodies() {
    let sim = sim().await;
    for p in ALL {
        for code in [429u16, 500, 503] {
            let resp = send(
                &sim,
                p,
                MODEL,
                &format!("hello [[sim:status={code}]]"),
                false,
            )
            .await;
            assert_eq!(resp.status().as_u16(), code, "{p:?}");
            let retry = resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            assert_eq!(
                retry.as_deref(),
                if code == 429 { Some("1") } else { None },
                "{p:?} {code}"
            );
            let v: Value = resp.json().await.unwrap();
            assert!(!error_message(p, &v).is_empty());
            match p {
                P::OpenAi => assert_eq!(
                    v["error"]["type"],
                    if code == 429 {
                        "requests"
                    } else {
                        "server_error"
                    }
                ),
                P::Anthropic => assert_eq!(
                    v["error"]["type"],
                    if code == 429 {
                        "rate_limit_error"
                    } else {
                        "api_error"
                    }
                ),
                P::Gemini => {
                    assert_eq!(v["error"]["code"], code);
                    let status = match code {
                        429 => "RESOURCE_EXHAUSTED",
                        500 => "INTERNAL",
                        _ => "UNAVAILABLE",
                    };
                    assert_eq!(v["error"]["status"], status);
                }
            }
        }
    }
    let resp = send(&sim, P::Anthropic, MODEL, "[[sim:status=529]]", false).await;
    assert_eq!(resp.status().as_u16(), 529);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "overloaded_error");
}

#[tokio::test]
async fn bad_request_and_context_length_directives_are_400s() {
    let sim = sim().await;
    for p in ALL {
        for (directive, needle) in [
            ("[[sim:error=bad_request]]", "invalid"),
            ("[[sim:error=context_length]]", "token"),
        ] {
            let resp = send(&sim, p, MODEL, &format!("hi {directive}"), true).await;
            assert_eq!(resp.status(), 400, "{p:?}");
            let v: Value = resp.json().await.unwrap();
            let msg = error_message(p, &v);
            assert!(msg.to_lowercase().contains(needle), "{p:?}: {msg}");
        }
    }
}

#[tokio::test]
async fn html_directive_returns_an_html_page() {
    let sim = sim().await;
    for p in ALL {
        let resp = send(&sim, p, MODEL, "hi [[sim:html=502]]", false).await;
        assert_eq!(resp.status(), 502);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let body = resp.text().await.unwrap();
        assert!(body.contains("<html>") && body.contains("502 Bad Gateway"));
        assert!(serde_json::from_str::<Value>(&body).is_err());
    }
}

#[tokio::test]
async fn delay_directive_holds_the_answer() {
    let sim = sim().await;
    for p in ALL {
        let start = Instant::now();
        let resp = send(&sim, p, MODEL, "hi [[sim:delay_ms=300]]", false).await;
        assert_eq!(resp.status(), 200);
        assert!(start.elapsed() >= Duration::from_millis(300), "{p:?}");
    }
    // A client with a shorter timeout gives up.
    let body = simple_body(P::OpenAi, MODEL, "hi [[sim:delay_ms=2000]]", false);
    let err = client()
        .post(format!("{}/chat/completions", sim.openai_base_url()))
        .bearer_auth("k")
        .timeout(Duration::from_millis(100))
        .json(&body)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
}

/// Content chunks in a (possibly cut) stream of provider `p`, and whether an end marker arrived.
fn content_chunks_and_end(p: P, text: &str) -> (usize, bool) {
    let events = sse_events(text);
    let mut content = 0;
    let mut ended = false;
    for (name, data) in &events {
        match p {
            P::OpenAi => {
                if data == "[DONE]" {
                    ended = true;
                    continue;
                }
                let v: Value = serde_json::from_str(data).unwrap();
                if v["choices"][0]["delta"]["content"]
                    .as_str()
                    .is_some_and(|c| !c.is_empty())
                {
                    content += 1;
                }
                if v["choices"][0]["finish_reason"].is_string() {
                    ended = true;
                }
            }
            P::Anthropic => match name.as_deref() {
                Some("content_block_delta") => content += 1,
                Some("message_delta") | Some("message_stop") => ended = true,
                _ => {}
            },
            P::Gemini => {
                let v: Value = serde_json::from_str(data).unwrap();
                if v["candidates"][0]["finishReason"].is_string() {
                    ended = true;
                } else {
                    content += 1;
                }
            }
        }
    }
    (content, ended)
}

#[tokio::test]
async fn cut_after_drops_streams_mid_way_without_an_end_event() {
    let sim = sim().await;
    for p in ALL {
        let resp = send(
            &sim,
            p,
            MODEL,
            "Tell me a long story [[sim:cut_after=3]]",
            true,
        )
        .await;
        assert_eq!(resp.status(), 200, "a cut stream starts fine");
        let read = read_body(resp).await;
        assert!(
            read.failed,
            "{p:?}: the connection must drop, not end cleanly"
        );
        let (content, ended) = content_chunks_and_end(p, &read.text);
        assert_eq!(content, 3, "{p:?}: {}", read.text);
        assert!(!ended, "{p:?}: no terminal event after a cut");

        // The same prompt without the cut ends properly.
        let read = read_body(send(&sim, p, MODEL, "Tell me a long story", true).await).await;
        assert!(!read.failed);
        let (content, ended) = content_chunks_and_end(p, &read.text);
        assert!(content > 3 && ended, "{p:?}");
    }
}

#[tokio::test]
async fn cut_after_larger_than_the_answer_still_withholds_the_end() {
    let sim = sim().await;
    for p in ALL {
        let read = read_body(
            send(
                &sim,
                p,
                MODEL,
                "Short [[sim:tokens=2]] [[sim:cut_after=500]]",
                true,
            )
            .await,
        )
        .await;
        assert!(read.failed, "{p:?}");
        let (_, ended) = content_chunks_and_end(p, &read.text);
        assert!(!ended, "{p:?}");
    }
}

#[tokio::test]
async fn cut_after_on_a_non_streaming_request_truncates_the_body() {
    let sim = sim().await;
    for p in ALL {
        let resp = send(&sim, p, MODEL, "hi [[sim:cut_after=1]]", false).await;
        assert_eq!(resp.status(), 200);
        let announced: usize = resp.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let read = read_body(resp).await;
        assert!(read.failed, "{p:?}");
        assert!(read.text.len() < announced);
        assert!(serde_json::from_str::<Value>(&read.text).is_err());
    }
}

#[tokio::test]
async fn fail_first_fails_then_recovers_per_prompt() {
    let sim = sim().await;
    for p in ALL {
        let prompt = format!("retry me {p:?} [[sim:fail_first=2]]");
        assert_eq!(send(&sim, p, MODEL, &prompt, false).await.status(), 503);
        assert_eq!(send(&sim, p, MODEL, &prompt, false).await.status(), 503);
        assert_eq!(send(&sim, p, MODEL, &prompt, false).await.status(), 200);
        assert_eq!(send(&sim, p, MODEL, &prompt, false).await.status(), 200);
        let other = format!("another prompt {p:?} [[sim:fail_first=1]]");
        assert_eq!(send(&sim, p, MODEL, &other, false).await.status(), 503);
    }
}

#[tokio::test]
async fn tokens_directive_gives_exact_completion_tokens() {
    let sim = sim().await;
    for p in ALL {
        for n in [1u64, 5, 40] {
            let resp = send(
                &sim,
                p,
                MODEL,
                &format!("Say something [[sim:tokens={n}]]"),
                false,
            )
            .await;
            let v: Value = resp.json().await.unwrap();
            assert_eq!(completion_tokens(p, &v), n, "{p:?}");
            assert_eq!(est(&answer_text(p, &v)), n, "{p:?}");
        }
        // Streams count the same.
        let read =
            read_body(send(&sim, p, MODEL, "Say something [[sim:tokens=12]]", true).await).await;
        let reported = match p {
            P::OpenAi => None,
            P::Anthropic => sse_json(&read.text)
                .iter()
                .find(|e| e["type"] == "message_delta")
                .map(|e| e["usage"]["output_tokens"].as_u64().unwrap()),
            P::Gemini => sse_json(&read.text)
                .last()
                .map(|c| c["usageMetadata"]["candidatesTokenCount"].as_u64().unwrap()),
        };
        if let Some(r) = reported {
            assert_eq!(r, 12, "{p:?}");
        }
    }
}

#[tokio::test]
async fn cached_tokens_directive_is_reported_in_each_providers_fields() {
    let sim = sim().await;
    let prompt = "A prompt with a cached prefix [[sim:cached_tokens=6]]";
    let v: Value = send(&sim, P::OpenAi, MODEL, prompt, false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 6);
    assert_eq!(v["usage"]["prompt_tokens"], est(prompt) + 4);
    let v: Value = send(&sim, P::Gemini, MODEL, prompt, false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["usageMetadata"]["cachedContentTokenCount"], 6);
    assert_eq!(v["usageMetadata"]["promptTokenCount"], est(prompt) + 4);
}

#[tokio::test]
async fn injected_faults_hit_the_named_model_a_set_number_of_times() {
    let sim = sim().await;
    sim.inject("model-a", Fault::Status(500), 2);
    sim.inject("model-b", Fault::Html(504), 1);
    assert_eq!(
        send(&sim, P::OpenAi, "model-b", "hi", false).await.status(),
        504
    );
    assert_eq!(
        send(&sim, P::OpenAi, "model-b", "hi", false).await.status(),
        200
    );
    assert_eq!(
        send(&sim, P::Anthropic, "model-a", "hi", false)
            .await
            .status(),
        500
    );
    assert_eq!(
        send(&sim, P::Gemini, "model-a", "hi", false).await.status(),
        500
    );
    assert_eq!(
        send(&sim, P::Gemini, "model-a", "hi", false).await.status(),
        200
    );

    sim.inject(ANY_MODEL, Fault::CutAfter(1), 1);
    let read = read_body(send(&sim, P::Anthropic, "whatever", "hi", true).await).await;
    assert!(read.failed);
    sim.inject(ANY_MODEL, Fault::BadRequest, 1);
    assert_eq!(send(&sim, P::OpenAi, "x", "hi", false).await.status(), 400);
    sim.inject("x", Fault::ContextLength, 1);
    let v: Value = send(&sim, P::OpenAi, "x", "hi", false)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["error"]["code"], "context_length_exceeded");
    sim.inject("x", Fault::DelayMs(200), 1);
    let start = Instant::now();
    assert_eq!(send(&sim, P::OpenAi, "x", "hi", false).await.status(), 200);
    assert!(start.elapsed() >= Duration::from_millis(200));
}
