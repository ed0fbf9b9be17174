//! OpenAI chat-completions wire types shared by every LLM Gateway crate.
//!
//! The types follow OpenAI's public API reference for `POST /v1/chat/completions`
//! and `GET /v1/models`. Requests accept unknown fields (kept in `extra`) rather
//! than rejecting them; optional fields that are `None` are left out when
//! serialising, except where OpenAI itself always sends the key (`content`,
//! `finish_reason`, the error body's `param` and `code`).

mod chunk;
mod content;
mod error;
mod message;
mod models;
mod request;
mod response;
mod stream_chunk;
mod tools;

pub use chunk::{ChatCompletionChunk, ChunkChoice, ChunkDelta, FunctionCallDelta, ToolCallDelta};
pub use content::{ContentPart, FileData, ImageUrl, InputAudio, MessageContent};
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use message::{ChatMessage, Role};
pub use models::{ModelList, ModelObject};
pub use request::{
    ChatCompletionRequest, JsonSchemaFormat, ResponseFormat, StopSequences, StreamOptions,
    GATEWAY_FIELDS,
};
pub use response::{
    ChatCompletionResponse, Choice, CompletionTokensDetails, FinishReason, PromptTokensDetails,
    ResponseMessage, Usage,
};
pub use stream_chunk::StreamChunk;
pub use tools::{
    FunctionCall, FunctionDefinition, FunctionName, NamedToolChoice, Tool, ToolCall, ToolChoice,
    ToolChoiceMode, ToolKind,
};

/// Seconds since the Unix epoch, as used in `created` fields.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
