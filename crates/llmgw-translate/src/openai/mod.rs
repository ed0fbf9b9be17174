//! Pass-through helpers for OpenAI and OpenAI-compatible upstreams.

mod body;
mod stream;

pub use body::{upstream_body, UpstreamBody};
pub use stream::OpenAiStream;

use crate::{Result, TranslateError};
use llmgw_types::ChatCompletionResponse;

const PROVIDER: &str = "openai";

/// Parses a non-streaming OpenAI response body.
pub fn parse_response(body: &str) -> Result<ChatCompletionResponse> {
    serde_json::from_str(body).map_err(|e| {
        TranslateError::invalid_response(PROVIDER, format!("unreadable chat.completion: {e}"))
    })
}
