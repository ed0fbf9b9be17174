//! Streaming chunks (`chat.completion.chunk`).

use crate::{FinishReason, Role, ToolKind, Usage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn chunk_object() -> String {
    "chat.completion.chunk".to_string()
}

/// One server-sent event of a streamed completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    /// Completion id (the same on every chunk of a stream).
    pub id: String,
    /// Always `chat.completion.chunk`.
    #[serde(default = "chunk_object")]
    pub object: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
    /// The model that answers.
    pub model: String,
    /// Deltas (empty on the usage-only last chunk).
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Usage, on the last chunk when `stream_options.include_usage` was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
}

impl ChatCompletionChunk {
    /// A chunk with one choice (index 0) carrying `delta` and `finish_reason`.
    pub fn with_delta(
        id: &str,
        model: &str,
        created: u64,
        delta: ChunkDelta,
        finish_reason: Option<FinishReason>,
    ) -> Self {
        ChatCompletionChunk {
            id: id.to_string(),
            object: chunk_object(),
            created,
            model: model.to_string(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason,
                logprobs: None,
            }],
            usage: None,
            system_fingerprint: None,
        }
    }

    /// The usage-only last chunk (`choices: []`).
    pub fn usage_only(id: &str, model: &str, created: u64, usage: Usage) -> Self {
        ChatCompletionChunk {
            id: id.to_string(),
            object: chunk_object(),
            created,
            model: model.to_string(),
            choices: Vec::new(),
            usage: Some(usage),
            system_fingerprint: None,
        }
    }
}

/// One choice of a chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Choice index.
    #[serde(default)]
    pub index: u32,
    /// What this chunk adds.
    #[serde(default)]
    pub delta: ChunkDelta,
    /// Set on the chunk that ends the choice; `null` before.
    #[serde(default)]
    pub finish_reason: Option<FinishReason>,
    /// Log probabilities, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
}

/// The incremental message of a chunk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkDelta {
    /// `assistant`, on the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Tool-call pieces to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// Refusal text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

/// A piece of a streamed tool call. The first piece of a call carries `id`, `type`
/// and `function.name`; later pieces with the same `index` append to `function.arguments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDelta {
    /// Which tool call of the message this piece belongs to.
    pub index: u32,
    /// Call id (first piece only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `function` (first piece only).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ToolKind>,
    /// Name and/or argument text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
}

/// Function part of a tool-call delta.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallDelta {
    /// Function name (first piece only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Argument text to append.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}
