//! Anthropic SSE events -> OpenAI chunks, as a state machine fed one event at a time.

use super::response::{map_stop_reason, map_usage};
use super::wire::{self, BlockDelta, ContentBlock, StreamEvent};
use crate::{redact_secrets, Result, TranslateError};
use llmgw_types::{
    ChatCompletionChunk, ChunkDelta, FinishReason, FunctionCallDelta, Role, ToolCallDelta, ToolKind,
};
use std::collections::HashMap;

const PROVIDER: &str = "anthropic";

/// Translates one Anthropic stream into OpenAI chunks.
///
/// Feed each SSE `data:` payload to [`AnthropicStream::feed`]; call
/// [`AnthropicStream::finish`] when the byte stream ends. Tool-use blocks become tool calls
/// numbered 0, 1, … in the order they start; `input_json_delta` pieces are routed to the
/// call of their block index, so parallel calls never mix.
#[derive(Debug)]
pub struct AnthropicStream {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    started: bool,
    done: bool,
    /// Anthropic block index -> OpenAI tool-call index.
    tool_index: HashMap<u32, u32>,
    next_tool_index: u32,
    stop_reason: Option<String>,
    usage: wire::Usage,
    /// The tool that carries a `json_schema` answer, and its block index once started.
    json_tool: Option<String>,
    json_block: Option<u32>,
}

impl AnthropicStream {
    /// A translator for a stream of `model`; `include_usage` adds the usage-only last chunk.
    pub fn new(model: &str, created: u64, include_usage: bool) -> Self {
        AnthropicStream {
            id: String::new(),
            model: model.to_string(),
            created,
            include_usage,
            started: false,
            done: false,
            tool_index: HashMap::new(),
            next_tool_index: 0,
            stop_reason: None,
            usage: wire::Usage::default(),
            json_tool: None,
            json_block: None,
        }
    }

    /// Streams the input of tool `name` as answer text (see [`super::json_tool_name`]); other
    /// text is dropped, since the JSON is the answer.
    pub fn with_json_tool(mut self, name: Option<String>) -> Self {
        self.json_tool = name;
        self
    }

    /// True once `message_stop` was seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds one event's `data:` payload; returns the chunks it produces.
    pub fn feed(&mut self, data: &str) -> Result<Vec<ChatCompletionChunk>> {
        if self.done {
            return Ok(Vec::new());
        }
        let event: StreamEvent = serde_json::from_str(data).map_err(|e| {
            TranslateError::invalid_response(PROVIDER, format!("unreadable stream event: {e}"))
        })?;
        self.on_event(event)
    }

    /// Feeds one parsed event.
    pub fn on_event(&mut self, event: StreamEvent) -> Result<Vec<ChatCompletionChunk>> {
        if self.done {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        match event {
            StreamEvent::MessageStart { message } => {
                if !message.id.is_empty() {
                    self.id = message.id;
                }
                if !message.model.is_empty() {
                    self.model = message.model;
                }
                merge_usage(&mut self.usage, &message.usage);
                self.start(&mut out);
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                self.start(&mut out);
                match content_block {
                    ContentBlock::ToolUse { name, .. }
                        if self.json_tool.as_ref() == Some(&name) =>
                    {
                        self.json_block = Some(index);
                    }
                    ContentBlock::ToolUse { id, name, .. } => {
                        let tool = self.next_tool_index;
                        self.next_tool_index += 1;
                        self.tool_index.insert(index, tool);
                        out.push(self.tool_chunk(ToolCallDelta {
                            index: tool,
                            id: Some(id),
                            kind: Some(ToolKind::Function),
                            function: Some(FunctionCallDelta {
                                name: Some(name),
                                arguments: Some(String::new()),
                            }),
                        }));
                    }
                    ContentBlock::Text { text } if !text.is_empty() && self.json_tool.is_none() => {
                        out.push(self.text_chunk(text))
                    }
                    _ => {}
                }
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                self.start(&mut out);
                match delta {
                    BlockDelta::TextDelta { text }
                        if !text.is_empty() && self.json_tool.is_none() =>
                    {
                        out.push(self.text_chunk(text))
                    }
                    BlockDelta::InputJsonDelta { partial_json }
                        if !partial_json.is_empty() && self.json_block == Some(index) =>
                    {
                        out.push(self.text_chunk(partial_json))
                    }
                    BlockDelta::InputJsonDelta { partial_json } if !partial_json.is_empty() => {
                        let Some(tool) = self.tool_index.get(&index).copied() else {
                            return Err(TranslateError::invalid_response(
                                PROVIDER,
                                format!("input_json_delta for block {index}, which is not a tool_use block"),
                            ));
                        };
                        out.push(self.tool_chunk(ToolCallDelta {
                            index: tool,
                            id: None,
                            kind: None,
                            function: Some(FunctionCallDelta {
                                name: None,
                                arguments: Some(partial_json),
                            }),
                        }));
                    }
                    _ => {}
                }
            }
            StreamEvent::ContentBlockStop { .. } | StreamEvent::Ping | StreamEvent::Unknown => {}
            StreamEvent::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                merge_usage(&mut self.usage, &usage);
            }
            StreamEvent::MessageStop => {
                self.start(&mut out);
                self.done = true;
                let mut finish =
                    map_stop_reason(self.stop_reason.as_deref(), self.next_tool_index > 0);
                if self.json_block.is_some()
                    && self.next_tool_index == 0
                    && finish == FinishReason::ToolCalls
                {
                    finish = FinishReason::Stop;
                }
                out.push(self.chunk(ChunkDelta::default(), Some(finish)));
                if self.include_usage {
                    out.push(ChatCompletionChunk::usage_only(
                        &self.id,
                        &self.model,
                        self.created,
                        map_usage(&self.usage),
                    ));
                }
            }
            StreamEvent::Error { error } => {
                let status = match error.kind.as_str() {
                    "rate_limit_error" => 429,
                    "overloaded_error" => 503,
                    "invalid_request_error" => 400,
                    _ => 502,
                };
                return Err(TranslateError::StreamError {
                    provider: PROVIDER,
                    kind: error.kind,
                    message: redact_secrets(&error.message),
                    status,
                });
            }
        }
        Ok(out)
    }

    /// Call when the byte stream ends: an error unless `message_stop` was seen.
    pub fn finish(&mut self) -> Result<Vec<ChatCompletionChunk>> {
        if self.done {
            Ok(Vec::new())
        } else {
            Err(TranslateError::StreamIncomplete { provider: PROVIDER })
        }
    }

    /// Emits the role chunk once.
    fn start(&mut self, out: &mut Vec<ChatCompletionChunk>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(self.chunk(
            ChunkDelta {
                role: Some(Role::Assistant),
                content: Some(String::new()),
                ..Default::default()
            },
            None,
        ));
    }

    fn chunk(&self, delta: ChunkDelta, finish: Option<FinishReason>) -> ChatCompletionChunk {
        ChatCompletionChunk::with_delta(&self.id, &self.model, self.created, delta, finish)
    }

    fn text_chunk(&self, text: String) -> ChatCompletionChunk {
        self.chunk(
            ChunkDelta {
                content: Some(text),
                ..Default::default()
            },
            None,
        )
    }

    fn tool_chunk(&self, call: ToolCallDelta) -> ChatCompletionChunk {
        self.chunk(
            ChunkDelta {
                tool_calls: Some(vec![call]),
                ..Default::default()
            },
            None,
        )
    }
}

/// Usage fields reported later replace earlier ones (message_delta usage is cumulative).
fn merge_usage(into: &mut wire::Usage, from: &wire::Usage) {
    if from.input_tokens.is_some() {
        into.input_tokens = from.input_tokens;
    }
    if from.output_tokens.is_some() {
        into.output_tokens = from.output_tokens;
    }
    if from.cache_creation_input_tokens.is_some() {
        into.cache_creation_input_tokens = from.cache_creation_input_tokens;
    }
    if from.cache_read_input_tokens.is_some() {
        into.cache_read_input_tokens = from.cache_read_input_tokens;
    }
}
