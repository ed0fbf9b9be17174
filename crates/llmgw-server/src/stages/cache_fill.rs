//! Filling the cache from a stream: the chunks are passed on untouched while they are
//! assembled into one response, which is offered to the cache only when the stream ended
//! normally with a finish reason on every choice. A stream that fails, is cut, or is
//! dropped (client gone, timeout) stores nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use llmgw_types::{
    ChatCompletionChunk, ChatCompletionRequest, ChatCompletionResponse, Choice, FinishReason,
    FunctionCall, ResponseMessage, ToolCall, ToolKind, Usage,
};

use super::auth::Caller;
use super::cache::{CacheQuery, PromptEmbedding, ResponseCache};
use crate::upstream::ChunkStream;

/// A [`CacheQuery`] that owns its parts, for use after the request handler returned.
#[derive(Debug, Clone)]
pub struct OwnedQuery {
    /// The caller.
    pub caller: Caller,
    /// Catalog id of the resolved model.
    pub model: String,
    /// The request.
    pub request: ChatCompletionRequest,
    /// The prompt embedding and its encoder, if any.
    pub embedding: Option<(Vec<f32>, String)>,
    /// The semantic threshold of the lookup, if any.
    pub min_similarity: Option<f64>,
}

impl OwnedQuery {
    /// Copy `query`.
    pub fn new(query: &CacheQuery<'_>) -> Self {
        OwnedQuery {
            caller: query.caller.clone(),
            model: query.model.to_string(),
            request: query.request.clone(),
            embedding: query
                .embedding
                .map(|e| (e.vector.to_vec(), e.encoder.to_string())),
            min_similarity: query.min_similarity,
        }
    }

    /// Borrow it as a [`CacheQuery`].
    pub fn as_query(&self) -> CacheQuery<'_> {
        CacheQuery {
            caller: &self.caller,
            model: &self.model,
            request: &self.request,
            embedding: self
                .embedding
                .as_ref()
                .map(|(vector, encoder)| PromptEmbedding { vector, encoder }),
            min_similarity: self.min_similarity,
        }
    }
}

/// Pass `upstream` on and, once it has ended with a complete answer, offer that answer to
/// `cache` under `query`.
pub fn store_when_complete(
    cache: Arc<dyn ResponseCache>,
    query: OwnedQuery,
    upstream: ChunkStream,
) -> ChunkStream {
    Box::pin(async_stream::stream! {
        let mut upstream = upstream;
        let mut assembler = StreamAssembler::default();
        let mut failed = false;
        while let Some(item) = upstream.next().await {
            match &item {
                Ok(chunk) => assembler.push(chunk.chunk()),
                Err(_) => failed = true,
            }
            yield item;
            if failed {
                return;
            }
        }
        if let Some(response) = assembler.finish() {
            cache.store(&query.as_query(), &response).await;
        }
    })
}

#[derive(Debug, Default)]
struct ToolCallParts {
    id: String,
    name: String,
    arguments: String,
}

#[derive(Debug, Default)]
struct ChoiceParts {
    content: Option<String>,
    refusal: Option<String>,
    tool_calls: BTreeMap<u32, ToolCallParts>,
    finish_reason: Option<FinishReason>,
}

/// Assembles the chunks of a stream into the response they stand for.
#[derive(Debug, Default)]
pub struct StreamAssembler {
    id: String,
    model: String,
    created: u64,
    system_fingerprint: Option<String>,
    choices: BTreeMap<u32, ChoiceParts>,
    usage: Option<Usage>,
}

impl StreamAssembler {
    /// Take in one chunk.
    pub fn push(&mut self, chunk: &ChatCompletionChunk) {
        if self.id.is_empty() {
            self.id.clone_from(&chunk.id);
            self.model.clone_from(&chunk.model);
            self.created = chunk.created;
        }
        if chunk.system_fingerprint.is_some() {
            self.system_fingerprint
                .clone_from(&chunk.system_fingerprint);
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
        }
        for c in &chunk.choices {
            let parts = self.choices.entry(c.index).or_default();
            if let Some(text) = &c.delta.content {
                parts.content.get_or_insert_with(String::new).push_str(text);
            }
            if let Some(text) = &c.delta.refusal {
                parts.refusal.get_or_insert_with(String::new).push_str(text);
            }
            for call in c.delta.tool_calls.iter().flatten() {
                let slot = parts.tool_calls.entry(call.index).or_default();
                if let Some(id) = &call.id {
                    slot.id.clone_from(id);
                }
                if let Some(f) = &call.function {
                    if let Some(name) = &f.name {
                        slot.name.push_str(name);
                    }
                    if let Some(args) = &f.arguments {
                        slot.arguments.push_str(args);
                    }
                }
            }
            if c.finish_reason.is_some() {
                parts.finish_reason = c.finish_reason;
            }
        }
    }

    /// The response, if the stream carried a complete answer: at least one choice, and a
    /// finish reason on every choice.
    pub fn finish(self) -> Option<ChatCompletionResponse> {
        if self.choices.is_empty() || self.choices.values().any(|c| c.finish_reason.is_none()) {
            return None;
        }
        let choices = self
            .choices
            .into_iter()
            .map(|(index, parts)| {
                let calls = parts
                    .tool_calls
                    .into_values()
                    .map(|t| ToolCall {
                        id: t.id,
                        kind: ToolKind::Function,
                        function: FunctionCall {
                            name: t.name,
                            arguments: t.arguments,
                        },
                    })
                    .collect();
                let mut message = ResponseMessage::assistant(parts.content, calls);
                message.refusal = parts.refusal;
                Choice {
                    index,
                    message,
                    finish_reason: parts.finish_reason,
                    logprobs: None,
                }
            })
            .collect();
        Some(ChatCompletionResponse {
            id: self.id,
            object: "chat.completion".to_string(),
            created: self.created,
            model: self.model,
            choices,
            usage: self.usage,
            system_fingerprint: self.system_fingerprint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmgw_types::{ChunkDelta, FunctionCallDelta, ToolCallDelta};

    fn delta(content: Option<&str>, finish: Option<FinishReason>) -> ChatCompletionChunk {
        ChatCompletionChunk::with_delta(
            "c1",
            "m",
            7,
            ChunkDelta {
                content: content.map(str::to_string),
                ..ChunkDelta::default()
            },
            finish,
        )
    }

    #[test]
    fn assembles_text_tool_call_fragments_and_usage() {
        let mut a = StreamAssembler::default();
        a.push(&delta(Some("Hel"), None));
        a.push(&delta(Some("lo"), None));
        let call = |id: Option<&str>, name: Option<&str>, args: &str| {
            ChatCompletionChunk::with_delta(
                "c1",
                "m",
                7,
                ChunkDelta {
                    tool_calls: Some(vec![ToolCallDelta {
                        index: 0,
                        id: id.map(str::to_string),
                        kind: None,
                        function: Some(FunctionCallDelta {
                            name: name.map(str::to_string),
                            arguments: Some(args.to_string()),
                        }),
                    }]),
                    ..ChunkDelta::default()
                },
                None,
            )
        };
        a.push(&call(Some("call_1"), Some("f"), "{\"a\""));
        a.push(&call(None, None, ":1}"));
        a.push(&delta(None, Some(FinishReason::ToolCalls)));
        a.push(&ChatCompletionChunk::usage_only(
            "c1",
            "m",
            7,
            Usage::new(3, 4),
        ));
        let resp = a.finish().unwrap();
        assert_eq!(resp.text(), Some("Hello"));
        let calls = resp.choices[0].message.tool_calls.as_ref().unwrap();
        assert_eq!(calls[0].id, "call_1");
        assert_eq!(calls[0].function.arguments, "{\"a\":1}");
        assert_eq!(resp.choices[0].finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(resp.usage.unwrap().completion_tokens, 4);
    }

    #[test]
    fn a_stream_without_finish_reason_is_not_an_answer() {
        let mut a = StreamAssembler::default();
        a.push(&delta(Some("partial"), None));
        assert!(a.finish().is_none());
        assert!(StreamAssembler::default().finish().is_none());
    }
}
