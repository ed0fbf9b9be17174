//! Gemini SSE events (`streamGenerateContent?alt=sse`) -> OpenAI chunks, as a state machine.

use super::response::{answer_text, map_finish_reason, map_usage, tool_call};
use super::wire::{GenerateContentResponse, UsageMetadata};
use crate::{redact_secrets, Result, TranslateError};
use llmgw_types::{
    ChatCompletionChunk, ChunkChoice, ChunkDelta, FinishReason, FunctionCallDelta, Role,
    ToolCallDelta, ToolKind,
};
use serde_json::Value;
use std::collections::BTreeMap;

const PROVIDER: &str = "gemini";

#[derive(Debug, Default)]
struct CandidateState {
    started: bool,
    tool_calls: usize,
    finished: bool,
}

/// Translates one Gemini stream into OpenAI chunks.
///
/// Each SSE event is a whole `GenerateContentResponse`; feed its `data:` payload to
/// [`GeminiStream::feed`]. Gemini has no terminal event: a candidate is complete when it
/// carries a `finishReason`, so [`GeminiStream::finish`] (called when the byte stream ends)
/// fails unless every candidate finished, and emits the usage chunk when asked for.
/// Function calls arrive whole; each becomes one tool-call delta with id, name and arguments.
#[derive(Debug)]
pub struct GeminiStream {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    response_id: String,
    candidates: BTreeMap<u32, CandidateState>,
    blocked: bool,
    usage: Option<UsageMetadata>,
    done: bool,
}

impl GeminiStream {
    /// A translator for a stream of `model`; `include_usage` adds the usage-only last chunk.
    pub fn new(model: &str, created: u64, include_usage: bool) -> Self {
        GeminiStream {
            id: String::new(),
            model: model.to_string(),
            created,
            include_usage,
            response_id: String::new(),
            candidates: BTreeMap::new(),
            blocked: false,
            usage: None,
            done: false,
        }
    }

    /// True when every candidate seen so far has finished (or the prompt was blocked).
    pub fn is_complete(&self) -> bool {
        self.blocked
            || (!self.candidates.is_empty() && self.candidates.values().all(|c| c.finished))
    }

    /// Feeds one event's `data:` payload; returns the chunks it produces.
    pub fn feed(&mut self, data: &str) -> Result<Vec<ChatCompletionChunk>> {
        if self.done {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(data).map_err(|e| {
            TranslateError::invalid_response(PROVIDER, format!("unreadable stream event: {e}"))
        })?;
        if let Some(err) = value.get("error") {
            let status = err.get("code").and_then(Value::as_u64).unwrap_or(502);
            let kind = err
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("UNKNOWN")
                .to_string();
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Err(TranslateError::StreamError {
                provider: PROVIDER,
                kind,
                message: redact_secrets(message),
                status: match status {
                    429 => 429,
                    400 => 400,
                    503 => 503,
                    504 => 504,
                    _ => 502,
                },
            });
        }
        let event: GenerateContentResponse = serde_json::from_value(value).map_err(|e| {
            TranslateError::invalid_response(PROVIDER, format!("unexpected stream event: {e}"))
        })?;
        Ok(self.on_event(event))
    }

    /// Feeds one parsed event.
    pub fn on_event(&mut self, event: GenerateContentResponse) -> Vec<ChatCompletionChunk> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        if let Some(rid) = event.response_id.as_ref().filter(|r| !r.is_empty()) {
            if self.response_id.is_empty() {
                self.response_id = rid.clone();
            }
        }
        if self.id.is_empty() {
            self.id = if self.response_id.is_empty() {
                format!("chatcmpl-gemini-{}", self.created)
            } else {
                format!("chatcmpl-{}", self.response_id)
            };
        }
        if let Some(v) = event.model_version.as_ref().filter(|v| !v.is_empty()) {
            self.model = v.clone();
        }
        if event.usage_metadata.is_some() {
            self.usage = event.usage_metadata.clone();
        }
        if event.candidates.is_empty()
            && event
                .prompt_feedback
                .as_ref()
                .and_then(|f| f.block_reason.as_ref())
                .is_some()
        {
            self.blocked = true;
            let delta = ChunkDelta {
                role: Some(Role::Assistant),
                content: Some(String::new()),
                ..Default::default()
            };
            out.push(self.chunk(0, delta, Some(FinishReason::ContentFilter)));
            return out;
        }
        for (pos, cand) in event.candidates.iter().enumerate() {
            let index = cand.index.unwrap_or(pos as u32);
            let mut role_pending = {
                let st = self.candidates.entry(index).or_default();
                if st.finished {
                    continue;
                }
                let pending = !st.started;
                st.started = true;
                pending
            };
            let role = |pending: &mut bool| {
                let r = (*pending).then_some(Role::Assistant);
                *pending = false;
                r
            };
            for part in cand.content.iter().flat_map(|c| c.parts.iter()) {
                if let Some(text) = answer_text(part).filter(|t| !t.is_empty()) {
                    let delta = ChunkDelta {
                        role: role(&mut role_pending),
                        content: Some(text.to_string()),
                        ..Default::default()
                    };
                    out.push(self.chunk(index, delta, None));
                }
                let position = self
                    .candidates
                    .get(&index)
                    .map(|s| s.tool_calls)
                    .unwrap_or(0);
                if let Some(call) = tool_call(part, &self.response_id, position) {
                    if let Some(st) = self.candidates.get_mut(&index) {
                        st.tool_calls += 1;
                    }
                    let delta = ChunkDelta {
                        role: role(&mut role_pending),
                        tool_calls: Some(vec![ToolCallDelta {
                            index: position as u32,
                            id: Some(call.id),
                            kind: Some(ToolKind::Function),
                            function: Some(FunctionCallDelta {
                                name: Some(call.function.name),
                                arguments: Some(call.function.arguments),
                            }),
                        }]),
                        ..Default::default()
                    };
                    out.push(self.chunk(index, delta, None));
                }
            }
            if let Some(reason) = cand.finish_reason.as_deref() {
                let has_calls = self
                    .candidates
                    .get(&index)
                    .is_some_and(|s| s.tool_calls > 0);
                if let Some(st) = self.candidates.get_mut(&index) {
                    st.finished = true;
                }
                let delta = ChunkDelta {
                    role: role(&mut role_pending),
                    ..Default::default()
                };
                out.push(self.chunk(
                    index,
                    delta,
                    Some(map_finish_reason(Some(reason), has_calls)),
                ));
            } else if role_pending {
                // A candidate whose first event carried nothing visible: still announce the role.
                let delta = ChunkDelta {
                    role: Some(Role::Assistant),
                    content: Some(String::new()),
                    ..Default::default()
                };
                out.push(self.chunk(index, delta, None));
            }
        }
        out
    }

    /// Call when the byte stream ends: the usage chunk (when asked for), or an error if any
    /// candidate never finished.
    pub fn finish(&mut self) -> Result<Vec<ChatCompletionChunk>> {
        if self.done {
            return Ok(Vec::new());
        }
        if !self.is_complete() {
            return Err(TranslateError::StreamIncomplete { provider: PROVIDER });
        }
        self.done = true;
        let mut out = Vec::new();
        if self.include_usage {
            let usage = self.usage.as_ref().map(map_usage).unwrap_or_default();
            out.push(ChatCompletionChunk::usage_only(
                &self.id,
                &self.model,
                self.created,
                usage,
            ));
        }
        Ok(out)
    }

    fn chunk(
        &self,
        index: u32,
        delta: ChunkDelta,
        finish: Option<FinishReason>,
    ) -> ChatCompletionChunk {
        let mut c =
            ChatCompletionChunk::with_delta(&self.id, &self.model, self.created, delta, finish);
        c.choices = vec![ChunkChoice {
            index,
            delta: c.choices.pop().map(|c| c.delta).unwrap_or_default(),
            finish_reason: finish,
            logprobs: None,
        }];
        c
    }
}
