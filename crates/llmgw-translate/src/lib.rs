//! Pure translation between OpenAI chat completions and the Anthropic Messages API
//! and the Gemini `generateContent` API: requests, responses, streams, usage,
//! finish reasons and errors. No I/O happens here, so every function can be
//! tested on captured payloads.

pub mod anthropic;
mod args;
mod data_url;
mod error;
pub mod gemini;
mod ids;
pub mod openai;
mod upstream_error;

pub use data_url::DataUrl;
pub use error::TranslateError;
pub use ids::stable_tool_call_id;
pub use upstream_error::{redact_secrets, Dialect, UpstreamFailure};

/// Result of a translation step.
pub type Result<T, E = TranslateError> = std::result::Result<T, E>;
