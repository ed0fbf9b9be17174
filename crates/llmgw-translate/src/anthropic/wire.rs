//! Anthropic Messages API wire types (the subset the gateway speaks).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /v1/messages` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesRequest {
    /// Model name.
    pub model: String,
    /// Alternating user/assistant turns, starting with user.
    pub messages: Vec<Message>,
    /// Output token limit (required by Anthropic).
    pub max_tokens: u32,
    /// System prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Sampling temperature (0..1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Stream as SSE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Tool choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Request metadata (`user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// `metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Opaque end-user id.
    pub user_id: String,
}

/// One turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `user` or `assistant`.
    pub role: String,
    /// Content blocks.
    pub content: Vec<ContentBlock>,
}

/// A content block of a request or response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image.
    Image {
        /// Where the image comes from.
        source: Source,
    },
    /// A document (PDF).
    Document {
        /// Where the document comes from.
        source: Source,
    },
    /// A tool call by the model.
    ToolUse {
        /// Call id (`toolu_…`).
        id: String,
        /// Tool name.
        name: String,
        /// Arguments object.
        input: Value,
    },
    /// A tool result, in a user turn.
    ToolResult {
        /// The `tool_use` id this answers.
        tool_use_id: String,
        /// Result content.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        content: Vec<ContentBlock>,
        /// The tool failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_error: Option<bool>,
    },
    /// Extended thinking (passed over when translating to OpenAI).
    Thinking {
        /// Thinking text.
        #[serde(default)]
        thinking: String,
        /// Signature.
        #[serde(default)]
        signature: String,
    },
    /// Any block type the gateway does not translate.
    #[serde(other)]
    Unknown,
}

/// An image or document source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    /// Inline base64 data.
    Base64 {
        /// Media type, e.g. `image/png`.
        media_type: String,
        /// Base64 data.
        data: String,
    },
    /// A URL Anthropic fetches.
    Url {
        /// The URL.
        url: String,
    },
}

/// A tool definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Tool name.
    pub name: String,
    /// What the tool does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the input.
    pub input_schema: Value,
}

/// `tool_choice`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolChoice {
    /// `auto`, `any`, `tool` or `none`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The tool, for `tool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// At most one tool call per turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_parallel_tool_use: Option<bool>,
}

/// A non-streaming response (`"type": "message"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesResponse {
    /// Message id (`msg_…`).
    pub id: String,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// `assistant`.
    #[serde(default)]
    pub role: String,
    /// The answer.
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// Why the model stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The stop sequence that matched.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Token usage.
    #[serde(default)]
    pub usage: Usage,
}

/// Anthropic token usage. `input_tokens` excludes cache reads and writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached input tokens.
    #[serde(default)]
    pub input_tokens: Option<u64>,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: Option<u64>,
    /// Input tokens written to the cache.
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the cache.
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

/// A streaming event (the `data:` of an SSE event).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// First event: the message shell with input usage.
    MessageStart {
        /// The message shell.
        message: MessagesResponse,
    },
    /// A content block begins.
    ContentBlockStart {
        /// Block index.
        index: u32,
        /// The block shell.
        content_block: ContentBlock,
    },
    /// A piece of a content block.
    ContentBlockDelta {
        /// Block index.
        index: u32,
        /// The piece.
        delta: BlockDelta,
    },
    /// A content block ends.
    ContentBlockStop {
        /// Block index.
        index: u32,
    },
    /// Stop reason and cumulative usage.
    MessageDelta {
        /// Stop reason.
        delta: MessageDeltaBody,
        /// Cumulative usage.
        #[serde(default)]
        usage: Usage,
    },
    /// Terminal event.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// An error mid-stream.
    Error {
        /// The error.
        error: ErrorDetail,
    },
    /// An event type added after this translation was written (ignored).
    #[serde(other)]
    Unknown,
}

/// The delta of a `content_block_delta`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockDelta {
    /// Text to append.
    TextDelta {
        /// Text.
        text: String,
    },
    /// A piece of a tool call's JSON input.
    InputJsonDelta {
        /// Partial JSON text.
        partial_json: String,
    },
    /// Any other delta (thinking, signature, citations).
    #[serde(other)]
    Other,
}

/// The `delta` of `message_delta`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct MessageDeltaBody {
    /// Why the model stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The stop sequence that matched.
    #[serde(default)]
    pub stop_sequence: Option<String>,
}

/// `{"type": "error", "error": {"type", "message"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Error type, e.g. `overloaded_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Message.
    #[serde(default)]
    pub message: String,
}
