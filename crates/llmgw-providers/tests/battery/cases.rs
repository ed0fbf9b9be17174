//! The cases of the battery.

use super::{assemble, Adapter, Answer, Case, Mode, Rig, KEY};
use llmgw_providers::{Provider, ProviderError, ProviderErrorKind, ProviderSettings, Timeouts};
use llmgw_sim::{SimConfig, SimModel};
use llmgw_types::{
    ChatCompletionRequest, ChatMessage, FinishReason, ResponseFormat, StreamOptions, Tool, ToolCall,
};
use serde_json::{json, Value};
use std::time::Duration;

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        Some("Current weather for a city".into()),
        json!({"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"], "additionalProperties": false}),
    )
}

fn time_tool() -> Tool {
    Tool::function(
        "get_time",
        Some("Current time in a timezone".into()),
        json!({"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}),
    )
}

fn args_object(args: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str::<Value>(args) {
        Ok(Value::Object(m)) => m,
        other => panic!("tool arguments must be a JSON object, got {other:?} from {args:?}"),
    }
}

fn check_usage(a: &Answer) {
    let u = a.usage.as_ref().expect("usage is reported");
    assert!(u.prompt_tokens > 0 && u.completion_tokens > 0, "{u:?}");
    assert_eq!(u.total_tokens, u.prompt_tokens + u.completion_tokens);
}

/// The request of a mode: streams ask for usage, as the gateway does.
fn with_mode(mut req: ChatCompletionRequest, mode: Mode) -> ChatCompletionRequest {
    if mode == Mode::Stream {
        req.stream = Some(true);
        req.stream_options = Some(StreamOptions {
            include_usage: Some(true),
        });
    }
    req
}

/// Asserts an error's kind, client status, that it names the provider and hides the key.
fn check_error(rig: &Rig, err: &ProviderError, kind: fn(&ProviderErrorKind) -> bool, status: u16) {
    assert!(
        kind(&err.kind),
        "unexpected kind {:?}: {}",
        err.kind,
        err.message
    );
    assert_eq!(err.provider, rig.adapter.name());
    assert!(
        err.message.contains(rig.adapter.name()),
        "message names the provider: {}",
        err.message
    );
    assert!(
        !err.message.contains(KEY) && !err.message.contains("SECRET"),
        "{}",
        err.message
    );
    let (st, body) = err.to_openai_error();
    assert_eq!(st, status, "{}", err.message);
    let v = serde_json::to_value(&body).expect("serialises");
    for field in ["message", "type", "param", "code"] {
        assert!(
            v["error"].get(field).is_some(),
            "error body has `{field}`: {v}"
        );
    }
    assert!(!v.to_string().contains("SECRET"));
}

/// Runs one case in one mode against one adapter.
pub async fn run_case(adapter: Adapter, case: Case, mode: Mode) {
    let timeouts = Timeouts {
        connect: Duration::from_secs(5),
        first_token: Duration::from_millis(600),
        total: Duration::from_secs(20),
    };
    let key = if case == Case::MissingKey {
        None
    } else {
        Some(KEY)
    };
    let sim = if case == Case::StalledStream {
        // One token a second: gaps between chunks far beyond the 600 ms limit.
        SimConfig::default().with_model(SimModel::new(adapter.model(), 0, 1.0))
    } else {
        SimConfig::default()
    };
    let rig = Rig::start(adapter, key, timeouts, sim).await;
    match case {
        Case::PlainText => {
            let req = with_mode(
                rig.request(vec![ChatMessage::user(
                    "Explain photosynthesis in one paragraph.",
                )]),
                mode,
            );
            let a = rig.call(&req, mode).await.expect("answer");
            assert!(!a.content.trim().is_empty());
            assert!(a.tool_calls.is_empty());
            assert_eq!(a.finish_reason, Some(FinishReason::Stop));
            check_usage(&a);
            let seen = rig.last_seen();
            let header = |name: &str| {
                seen.headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            match adapter {
                Adapter::OpenAi => {
                    assert!(seen.path.ends_with("/v1/chat/completions"), "{}", seen.path);
                    assert!(header("authorization").is_some());
                }
                Adapter::Anthropic => {
                    assert!(seen.path.ends_with("/v1/messages"), "{}", seen.path);
                    assert_eq!(header("anthropic-version").as_deref(), Some("2023-06-01"));
                    assert!(header("x-api-key").is_some());
                    assert!(
                        seen.body["max_tokens"].as_u64().is_some_and(|n| n > 0),
                        "max_tokens always sent"
                    );
                }
                Adapter::Gemini => {
                    let method = if mode == Mode::Stream {
                        ":streamGenerateContent"
                    } else {
                        ":generateContent"
                    };
                    assert!(
                        seen.path
                            .ends_with(&format!("/v1beta/models/gemini-2.5-flash{method}")),
                        "{}",
                        seen.path
                    );
                    assert!(header("x-goog-api-key").is_some());
                }
            }
            if mode == Mode::Stream {
                assert!(
                    a.chunks >= 4,
                    "the answer arrives in several chunks ({})",
                    a.chunks
                );
                // Streaming and non-streaming give the same answer (the simulator is deterministic).
                let whole = rig
                    .call(&with_mode(req.clone(), Mode::Complete), Mode::Complete)
                    .await
                    .expect("answer");
                assert_eq!(whole.content, a.content);
                assert_eq!(whole.usage, a.usage);
            }
        }
        Case::SystemPrompt => {
            let ask = |system: &str| {
                with_mode(
                    rig.request(vec![
                        ChatMessage::system(system),
                        ChatMessage::user("Name a colour."),
                    ]),
                    mode,
                )
            };
            let a = rig
                .call(&ask("You are a pirate."), mode)
                .await
                .expect("answer");
            let seen = rig.last_seen();
            let seen_body = seen.body.to_string();
            assert!(
                seen_body.contains("You are a pirate."),
                "the system prompt reached the provider"
            );
            match adapter {
                Adapter::Anthropic => assert_eq!(seen.body["system"], "You are a pirate."),
                Adapter::Gemini => {
                    assert_eq!(
                        seen.body["systemInstruction"]["parts"][0]["text"],
                        "You are a pirate."
                    )
                }
                Adapter::OpenAi => assert_eq!(seen.body["messages"][0]["role"], "system"),
            }
            let b = rig
                .call(&ask("You are a poet."), mode)
                .await
                .expect("answer");
            assert!(!a.content.is_empty() && !b.content.is_empty());
            assert_ne!(a.content, b.content, "the system prompt changes the answer");
        }
        Case::MultiTurn => {
            let req = with_mode(
                rig.request(vec![
                    ChatMessage::system("Be brief."),
                    ChatMessage::user("My name is Ada."),
                    ChatMessage::assistant("Nice to meet you, Ada."),
                    ChatMessage::user("What is my name?"),
                    ChatMessage::user("Answer in one word."),
                ]),
                mode,
            );
            let a = rig.call(&req, mode).await.expect("answer");
            assert!(!a.content.is_empty());
            assert_eq!(a.finish_reason, Some(FinishReason::Stop));
            let seen = rig.last_seen();
            let turns = match adapter {
                Adapter::OpenAi => seen.body["messages"].as_array().map(Vec::len),
                Adapter::Anthropic => seen.body["messages"].as_array().map(Vec::len),
                Adapter::Gemini => seen.body["contents"].as_array().map(Vec::len),
            };
            // OpenAI gets all 5 messages; Anthropic and Gemini get user/assistant/user (merged).
            let expected = if adapter == Adapter::OpenAi { 5 } else { 3 };
            assert_eq!(turns, Some(expected), "{}", seen.body);
        }
        Case::ToolCall => {
            let mut req = rig.request(vec![ChatMessage::user("What's the weather in Paris?")]);
            req.tools = Some(vec![weather_tool()]);
            let a = rig.call(&with_mode(req, mode), mode).await.expect("answer");
            assert_eq!(a.finish_reason, Some(FinishReason::ToolCalls));
            assert_eq!(a.tool_calls.len(), 1);
            let (id, name, args) = &a.tool_calls[0];
            assert!(!id.is_empty());
            assert_eq!(name, "get_weather");
            assert!(
                args_object(args).contains_key("city"),
                "required argument present: {args}"
            );
        }
        Case::ToolResult => {
            let mut req = rig.request(vec![ChatMessage::user("What's the weather in Paris?")]);
            req.tools = Some(vec![weather_tool()]);
            let first = rig
                .call(&with_mode(req.clone(), mode), mode)
                .await
                .expect("tool call");
            let calls: Vec<ToolCall> = first
                .tool_calls
                .iter()
                .map(|(id, name, args)| ToolCall::function(id.clone(), name.clone(), args.clone()))
                .collect();
            assert_eq!(calls.len(), 1);
            req.messages
                .push(ChatMessage::assistant_tool_calls(calls.clone()));
            req.messages
                .push(ChatMessage::tool(calls[0].id.clone(), "sunny-and-21C"));
            let a = rig
                .call(&with_mode(req, mode), mode)
                .await
                .expect("answer after tool result");
            assert!(a.tool_calls.is_empty());
            assert_eq!(a.finish_reason, Some(FinishReason::Stop));
            assert!(
                a.content.contains("sunny-and-21C"),
                "answer uses the tool result: {}",
                a.content
            );
        }
        Case::ParallelToolCalls => {
            let mut req = rig.request(vec![ChatMessage::user(
                "Weather in Rome and the time there? [[sim:parallel_tools]]",
            )]);
            req.tools = Some(vec![weather_tool(), time_tool()]);
            let a = rig
                .call(&with_mode(req.clone(), mode), mode)
                .await
                .expect("answer");
            assert_eq!(a.finish_reason, Some(FinishReason::ToolCalls));
            assert_eq!(a.tool_calls.len(), 2, "{:?}", a.tool_calls);
            assert_ne!(a.tool_calls[0].0, a.tool_calls[1].0, "distinct ids");
            let names: Vec<&str> = a.tool_calls.iter().map(|t| t.1.as_str()).collect();
            assert_eq!(names, vec!["get_weather", "get_time"]);
            assert!(args_object(&a.tool_calls[0].2).contains_key("city"));
            assert!(args_object(&a.tool_calls[1].2).contains_key("timezone"));
            if mode == Mode::Stream {
                // Arguments split across deltas reassemble to exactly the non-streamed arguments.
                let whole = rig.call(&req, Mode::Complete).await.expect("answer");
                let args = |a: &Answer| {
                    a.tool_calls
                        .iter()
                        .map(|t| args_object(&t.2))
                        .collect::<Vec<_>>()
                };
                assert_eq!(args(&whole), args(&a));
                // Both results answered in one follow-up turn.
                let mut follow = req.clone();
                let calls = a
                    .tool_calls
                    .iter()
                    .map(|(id, n, ar)| ToolCall::function(id.clone(), n.clone(), ar.clone()))
                    .collect::<Vec<_>>();
                follow
                    .messages
                    .push(ChatMessage::assistant_tool_calls(calls.clone()));
                follow
                    .messages
                    .push(ChatMessage::tool(calls[0].id.clone(), "rainy"));
                follow
                    .messages
                    .push(ChatMessage::tool(calls[1].id.clone(), "14:05"));
                let b = rig
                    .call(&follow, Mode::Stream)
                    .await
                    .expect("answer after two results");
                assert!(b.tool_calls.is_empty());
                assert!(!b.content.is_empty());
            }
        }
        Case::JsonObject => {
            let mut req = rig.request(vec![ChatMessage::user("Give me a user profile as JSON.")]);
            req.response_format = Some(ResponseFormat::JsonObject);
            let a = rig.call(&with_mode(req, mode), mode).await.expect("answer");
            let v: Value =
                serde_json::from_str(&a.content).unwrap_or_else(|e| panic!("{e}: {}", a.content));
            assert!(v.is_object());
        }
        Case::JsonSchema => {
            let mut req = rig.request(vec![ChatMessage::user("Describe a book.")]);
            req.response_format = Some(
                serde_json::from_value(json!({"type": "json_schema", "json_schema": {"name": "book", "strict": true,
                    "schema": {"type": "object", "additionalProperties": false,
                        "properties": {"title": {"type": "string"}, "pages": {"type": "integer"}}, "required": ["title", "pages"]}}}))
                .expect("format"),
            );
            let a = rig.call(&with_mode(req, mode), mode).await.expect("answer");
            let v: Value =
                serde_json::from_str(&a.content).unwrap_or_else(|e| panic!("{e}: {}", a.content));
            assert!(v.get("title").is_some_and(Value::is_string), "{v}");
            assert!(v.get("pages").is_some_and(Value::is_i64), "{v}");
        }
        Case::UsageOnlyWhenAsked => {
            let mut req = rig.request(vec![ChatMessage::user("Hello there")]);
            req.stream = Some(true);
            let (chunks, err) = rig.stream_all(&req).await.expect("stream");
            assert!(err.is_none());
            assert!(chunks
                .iter()
                .all(|c| c.usage.is_none() && !c.choices.is_empty()));
            assert_eq!(assemble(&chunks).finish_reason, Some(FinishReason::Stop));
        }
        Case::RateLimited => {
            let req = with_mode(
                rig.request(vec![ChatMessage::user("hi [[sim:status=429]]")]),
                mode,
            );
            let err = rig.call(&req, mode).await.expect_err("429");
            check_error(
                &rig,
                &err,
                |k| matches!(k, ProviderErrorKind::RateLimited { .. }),
                429,
            );
            assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
            assert!(err.is_retryable());
        }
        Case::ServerError => {
            let req = with_mode(
                rig.request(vec![ChatMessage::user("hi [[sim:status=500]]")]),
                mode,
            );
            let err = rig.call(&req, mode).await.expect_err("500");
            check_error(
                &rig,
                &err,
                |k| *k == ProviderErrorKind::UpstreamStatus { status: 500 },
                502,
            );
            assert!(err.is_retryable() && err.should_fall_back());
        }
        Case::Unavailable => {
            let req = with_mode(
                rig.request(vec![ChatMessage::user("hi [[sim:status=503]]")]),
                mode,
            );
            let err = rig.call(&req, mode).await.expect_err("503");
            check_error(
                &rig,
                &err,
                |k| *k == ProviderErrorKind::UpstreamStatus { status: 503 },
                503,
            );
        }
        Case::BadRequest => {
            let req = with_mode(
                rig.request(vec![ChatMessage::user("hi [[sim:error=bad_request]]")]),
                mode,
            );
            let err = rig.call(&req, mode).await.expect_err("400");
            check_error(&rig, &err, |k| *k == ProviderErrorKind::BadRequest, 400);
            assert!(!err.is_retryable() && !err.should_fall_back());
            assert_eq!(err.to_openai_error().1.error.kind, "invalid_request_error");
        }
        Case::HtmlErrorPage => {
            let req = with_mode(
                rig.request(vec![ChatMessage::user("hi [[sim:html=502]]")]),
                mode,
            );
            let err = rig.call(&req, mode).await.expect_err("html 502");
            check_error(
                &rig,
                &err,
                |k| *k == ProviderErrorKind::UpstreamStatus { status: 502 },
                502,
            );
            assert!(err.message.contains("HTML"), "{}", err.message);
            assert!(
                !err.message.contains('<'),
                "no markup in the message: {}",
                err.message
            );
            assert!(err.should_fall_back());
        }
        Case::Timeout => {
            let req = with_mode(
                rig.request(vec![ChatMessage::user("hi [[sim:delay_ms=5000]]")]),
                mode,
            );
            let started = std::time::Instant::now();
            let err = if mode == Mode::Complete {
                // Whole answers are bounded by the total limit: use a provider with a short one.
                let settings = ProviderSettings::new(adapter.name(), adapter.kind())
                    .with_base_url(adapter.base_url(&rig.sim))
                    .with_api_key(KEY)
                    .with_timeouts(Timeouts {
                        connect: Duration::from_secs(5),
                        first_token: Duration::from_millis(600),
                        total: Duration::from_millis(800),
                    });
                let p = Provider::new(&settings).expect("provider");
                p.complete(&req).await.expect_err("timeout")
            } else {
                rig.call(&req, mode).await.expect_err("timeout")
            };
            assert!(
                started.elapsed() < Duration::from_secs(4),
                "gave up in time"
            );
            check_error(&rig, &err, |k| *k == ProviderErrorKind::Timeout, 504);
            assert!(err.is_retryable());
        }
        Case::Cut => {
            let req = with_mode(
                rig.request(vec![ChatMessage::user(
                    "Tell me a long story. [[sim:cut_after=3]]",
                )]),
                mode,
            );
            match mode {
                Mode::Complete => {
                    let err = rig.call(&req, mode).await.expect_err("cut body");
                    check_error(&rig, &err, |k| *k == ProviderErrorKind::StreamCut, 502);
                }
                Mode::Stream => {
                    let (chunks, err) = rig.stream_all(&req).await.expect("stream starts");
                    let err = err.expect("a cut stream ends with an error item");
                    check_error(&rig, &err, |k| *k == ProviderErrorKind::StreamCut, 502);
                    let partial = assemble(&chunks);
                    assert!(
                        !partial.content.is_empty(),
                        "chunks before the cut were passed on"
                    );
                    assert_eq!(
                        partial.finish_reason, None,
                        "no finish_reason on a cut stream"
                    );
                    assert!(partial.usage.is_none());
                    assert!(err.is_retryable());
                }
            }
        }
        Case::MissingKey => {
            let req = with_mode(rig.request(vec![ChatMessage::user("hi")]), mode);
            let err = rig.call(&req, mode).await.expect_err("401");
            check_error(&rig, &err, |k| *k == ProviderErrorKind::Auth, 502);
            assert_eq!(
                err.to_openai_error().1.error.code.as_deref(),
                Some("upstream_auth_failed")
            );
            assert!(!err.is_retryable() && err.should_fall_back());
        }
        Case::StalledStream => {
            let req = with_mode(
                rig.request(vec![ChatMessage::user("Write a long essay about rivers.")]),
                mode,
            );
            let started = std::time::Instant::now();
            let err = match mode {
                // A whole answer is bounded by the total limit only: it waits for the slow answer.
                Mode::Complete => return rig.sim.shutdown().await,
                Mode::Stream => {
                    let (_, err) = rig.stream_all(&req).await.expect("stream starts");
                    err.expect("a stalled stream ends with an error item")
                }
            };
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "gave up on the stall in time"
            );
            check_error(&rig, &err, |k| *k == ProviderErrorKind::Timeout, 504);
        }
    }
    rig.sim.shutdown().await;
}
