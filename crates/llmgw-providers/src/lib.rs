//! Provider adapters: OpenAI (and any OpenAI-compatible server), Anthropic and Gemini behind
//! one enum, [`Provider`], that answers OpenAI chat requests with OpenAI responses and chunks.
//!
//! Each adapter owns one pooled HTTP client, translates with `llmgw-translate`, and turns every
//! upstream failure into a [`ProviderError`] that names the provider and never carries a key.
//!
//! Streams yield chunks as the upstream sends them. They are exactly what OpenAI would send for
//! the request: the usage-only last chunk appears only when the request sets
//! `stream_options.include_usage` (a caller that needs usage for accounting sets it, and drops
//! that chunk itself if its client did not ask). A stream that ends early — cut connection,
//! missing terminal event, timeout, an error event — ends with one `Err` item.

mod anthropic;
mod error;
mod gemini;
mod http;
mod openai;
mod provider;
mod settings;

pub use anthropic::AnthropicProvider;
pub use error::{ProviderError, ProviderErrorKind};
pub use gemini::GeminiProvider;
pub use openai::OpenAiProvider;
pub use provider::{ChatProvider, ChunkStream, Provider};
pub use settings::{ProviderKind, ProviderSettings, Secret, Timeouts};
