//! Pass-through helpers for OpenAI and OpenAI-compatible upstreams.

use crate::{Result, TranslateError};
use llmgw_types::{ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse};
use serde_json::{Map, Value};

const PROVIDER: &str = "openai";

/// The body sent to an OpenAI-compatible upstream: the request as typed, plus the unknown
/// fields the client sent (minus the gateway's own fields such as `route`).
pub fn upstream_body(req: &ChatCompletionRequest) -> Value {
    let mut typed = req.clone();
    typed.extra = Map::new();
    let mut body = serde_json::to_value(&typed).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut body {
        for (k, v) in req.upstream_extra() {
            map.entry(k).or_insert(v);
        }
    }
    body
}

/// Parses a non-streaming OpenAI response body.
pub fn parse_response(body: &str) -> Result<ChatCompletionResponse> {
    serde_json::from_str(body).map_err(|e| {
        TranslateError::invalid_response(PROVIDER, format!("unreadable chat.completion: {e}"))
    })
}

/// One OpenAI stream, checked and passed through: every chunk is forwarded as it comes
/// (usage-only chunks only when the client asked for usage), `[DONE]` ends it, and a stream
/// that stops before `[DONE]` is an error.
#[derive(Debug)]
pub struct OpenAiStream {
    include_usage: bool,
    done: bool,
    finished_choice: bool,
}

impl OpenAiStream {
    /// A checker; `include_usage` says whether the client asked for the usage chunk.
    pub fn new(include_usage: bool) -> Self {
        OpenAiStream {
            include_usage,
            done: false,
            finished_choice: false,
        }
    }

    /// True once `[DONE]` was seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds one SSE `data:` payload.
    pub fn feed(&mut self, data: &str) -> Result<Vec<ChatCompletionChunk>> {
        if self.done {
            return Ok(Vec::new());
        }
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(data).map_err(|e| {
            TranslateError::invalid_response(PROVIDER, format!("unreadable stream event: {e}"))
        })?;
        if let Some(err) = value.get("error") {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let kind = err
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("error")
                .to_string();
            return Err(TranslateError::StreamError {
                provider: PROVIDER,
                status: if kind.contains("rate_limit") {
                    429
                } else {
                    502
                },
                kind,
                message: crate::redact_secrets(message),
            });
        }
        let mut chunk: ChatCompletionChunk = serde_json::from_value(value).map_err(|e| {
            TranslateError::invalid_response(PROVIDER, format!("unexpected stream chunk: {e}"))
        })?;
        if chunk.choices.iter().any(|c| c.finish_reason.is_some()) {
            self.finished_choice = true;
        }
        if !self.include_usage {
            if chunk.choices.is_empty() {
                return Ok(Vec::new());
            }
            chunk.usage = None;
        }
        Ok(vec![chunk])
    }

    /// Call when the byte stream ends. Some OpenAI-compatible servers omit `[DONE]`; a stream
    /// whose choices all carried a `finish_reason` counts as complete.
    pub fn finish(&mut self) -> Result<Vec<ChatCompletionChunk>> {
        if self.done || self.finished_choice {
            self.done = true;
            Ok(Vec::new())
        } else {
            Err(TranslateError::StreamIncomplete { provider: PROVIDER })
        }
    }
}
