//! OpenAI <-> Anthropic Messages API.

mod request;
mod response;
mod stream;
pub mod wire;

pub use request::{
    default_max_tokens, json_tool_name, to_anthropic_request, JSON_MODE_INSTRUCTION,
};
pub use response::{from_anthropic_response, map_stop_reason, map_usage};
pub use stream::AnthropicStream;

/// The `anthropic-version` header value the translation targets.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
